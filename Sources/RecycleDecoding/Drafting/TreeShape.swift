/// How a recycler shapes its draft tree: one fixed template for every step, or chosen anew
/// before every step from measured costs and acceptance (`AutoTree`).
public enum TreeShape: Sendable, Equatable {
    case fixed(TreeTemplate)
    case auto

    /// "auto", a built-in template's name, or a JSON file of rank paths.
    public static func named(_ nameOrPath: String, k: Int) throws(TreeTemplate.Error) -> TreeShape {
        nameOrPath == "auto" ? .auto : .fixed(try TreeTemplate.named(nameOrPath, k: k))
    }

    /// The name reports use: the template's, or "auto".
    public var name: String {
        switch self {
        case let .fixed(template): template.name
        case .auto: "auto"
        }
    }
}
