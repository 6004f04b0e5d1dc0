import Glibc

// Charts for reports without a plotting library: the HTML page draws each pass's cost curve
// with it, and a benchmark can draw "ms per pass vs nodes" as a file of its own.

/// A line chart: one or more named series of (x, y) points over shared axes with ticks,
/// gridlines, axis labels, a title and a legend. Self-contained SVG: every style is an
/// attribute, so the element works alone as a file or pasted into any page.
public struct LineChart: Sendable {
    /// One named line of the chart, drawn in its own colour.
    public struct Series: Sendable {
        /// The name the legend shows.
        public var name: String
        /// The (x, y) points, drawn in the order given.
        public var points: [(Double, Double)]
        /// False draws bare points, e.g. to mark one point of another series.
        public var joined: Bool

        /// A series of `points`, joined by a line unless `joined` is false.
        public init(name: String, points: [(Double, Double)], joined: Bool = true) {
            self.name = name
            self.points = points
            self.joined = joined
        }
    }

    /// The title above the plot.
    public var title: String
    /// The label of the horizontal axis.
    public var xLabel: String
    /// The label of the vertical axis.
    public var yLabel: String
    /// The lines, drawn in order over shared axes.
    public var series: [Series]

    /// A chart of `series` with the given title and axis labels.
    public init(title: String, xLabel: String, yLabel: String, series: [Series]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
    }

    /// Series colours, in order (they repeat after the last).
    static let colors = ["#1a73e8", "#e8710a", "#1e8e3e", "#d93025", "#9334e6", "#12b5cb"]
    static let font = "system-ui, sans-serif"

    /// The chart as an `svg` element `width` by `height`. Non-finite points are left out; with
    /// no points at all the axes still show (0 to 1).
    public func svg(width: Double = 640, height: Double = 400) -> SVGElement {
        let points = series.flatMap(\.points).filter { $0.0.isFinite && $0.1.isFinite }
        let integralX = points.allSatisfy { $0.0 == $0.0.rounded() }
        let xTicks = Self.ticks(points.map(\.0), atLeastOne: integralX)
        let yTicks = Self.ticks(points.map(\.1), atLeastOne: false)
        let left = 60.0, right = width - 20, top = 58.0, bottom = height - 46
        func px(_ x: Double) -> Double { left + (x - xTicks.low) / (xTicks.high - xTicks.low) * (right - left) }
        func py(_ y: Double) -> Double { bottom - (y - yTicks.low) / (yTicks.high - yTicks.low) * (bottom - top) }
        func text(_ string: String, x: Double, y: Double, size: Double = 11, anchor: String = "middle",
                  extra: [(String, String)] = []) -> SVGElement {
            SVGElement("text", [("x", svgNumber(x)), ("y", svgNumber(y)), ("font-family", Self.font), ("font-size", svgNumber(size)),
                                ("fill", "#3c4043"), ("text-anchor", anchor)] + extra, text: string)
        }
        func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, color: String, width: Double = 1) -> SVGElement {
            SVGElement("line", [("x1", svgNumber(x1)), ("y1", svgNumber(y1)), ("x2", svgNumber(x2)), ("y2", svgNumber(y2)),
                                ("stroke", color), ("stroke-width", svgNumber(width))])
        }
        var children = [
            SVGElement("rect", [("width", "100%"), ("height", "100%"), ("fill", "#ffffff")]),
            text(title, x: width / 2, y: 22, size: 15, extra: [("font-weight", "bold")]),
        ]
        for value in xTicks.values {
            children.append(line(px(value), top, px(value), bottom, color: "#eceff1"))
            children.append(text(xTicks.label(value), x: px(value), y: bottom + 16))
        }
        for value in yTicks.values {
            children.append(line(left, py(value), right, py(value), color: "#eceff1"))
            children.append(text(yTicks.label(value), x: left - 6, y: py(value) + 4, anchor: "end"))
        }
        children.append(line(left, bottom, right, bottom, color: "#5f6368"))
        children.append(line(left, top, left, bottom, color: "#5f6368"))
        children.append(text(xLabel, x: (left + right) / 2, y: height - 10, size: 12))
        children.append(text(yLabel, x: 16, y: (top + bottom) / 2, size: 12,
                             extra: [("transform", "rotate(-90 16 \(svgNumber((top + bottom) / 2)))")]))
        var legendX = left
        for (n, s) in series.enumerated() {
            let color = Self.colors[n % Self.colors.count]
            let shown = s.points.filter { $0.0.isFinite && $0.1.isFinite }
            if s.joined && shown.count > 1 {
                let list = shown.map { "\(svgNumber(px($0.0))),\(svgNumber(py($0.1)))" }.joined(separator: " ")
                children.append(SVGElement("polyline", [("points", list), ("fill", "none"), ("stroke", color), ("stroke-width", "2"),
                                                        ("stroke-linejoin", "round")]))
            }
            // Dots on a line only while they stay apart (each carries its values as a tooltip).
            for (x, y) in shown where !s.joined || shown.count <= 40 {
                children.append(SVGElement("circle", [("cx", svgNumber(px(x))), ("cy", svgNumber(py(y))), ("r", s.joined ? "2.5" : "5"),
                                                      ("fill", s.joined ? color : "none"), ("stroke", color), ("stroke-width", "2")],
                                           children: [SVGElement("title", text: "\(s.name): \(Self.number(x)), \(Self.number(y))")]))
            }
            children.append(s.joined ? line(legendX, 40, legendX + 18, 40, color: color, width: 3)
                : SVGElement("circle", [("cx", svgNumber(legendX + 9)), ("cy", "40"), ("r", "5"), ("fill", "none"),
                                        ("stroke", color), ("stroke-width", "2")]))
            children.append(text(s.name, x: legendX + 24, y: 44, anchor: "start"))
            legendX += 24 + Double(s.name.count) * 6.5 + 20
        }
        return SVGElement.svg(width: width, height: height, children: children)
    }

    /// Axis ticks: a round step (1, 2 or 5 times a power of ten) giving about six ticks that
    /// cover `values`; `atLeastOne` keeps the step whole (x values that count things).
    struct Ticks {
        var low: Double, high: Double, step: Double

        var values: [Double] {
            let count = Int(((high - low) / step).rounded())
            return (0...count).map { low + Double($0) * step }
        }

        func label(_ value: Double) -> String {
            fixed(value, max(0, Int((-log10(step)).rounded(.up))))
        }
    }

    static func ticks(_ values: [Double], atLeastOne: Bool) -> Ticks {
        var low = values.min() ?? 0, high = values.max() ?? 1
        if high - low < 1e-9 {
            let pad = max(abs(low) * 0.1, atLeastOne ? 1 : 0.5)
            low -= pad
            high += pad
        }
        let rough = (high - low) / 6
        let power = pow(10, (log10(rough)).rounded(.down))
        var step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= rough } ?? 10 * power
        if atLeastOne { step = max(step, 1) }
        return Ticks(low: (low / step).rounded(.down) * step, high: (high / step).rounded(.up) * step, step: step)
    }

    /// A value for a tooltip: up to three decimals, trailing zeros dropped.
    static func number(_ value: Double) -> String {
        var text = fixed(value, 3)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}
