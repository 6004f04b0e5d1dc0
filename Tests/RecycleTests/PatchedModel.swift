import Foundation
import RecycleModel

/// A temporary copy of the real model with its metadata text and/or tensor bytes changed and
/// the checksum recomputed, so that the loader sees a file valid in every other respect.
/// The caller removes the file.
func patchedDefaultModel(metadata edit: (String) -> String = { $0 },
                         data patch: (inout [UInt8], WeightsFile) throws -> Void = { _, _ in }) throws -> String {
    let source = try defaultModelPath()
    let file = try WeightsFile(path: source)
    var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: source)))
    func u64(_ at: Int) -> Int { (0..<8).reduce(0) { $0 | Int(bytes[at + $1]) << (8 * $1) } }
    let (metadataOffset, metadataLength) = (u64(16), u64(24))
    let (directoryOffset, directoryLength, dataOffset) = (u64(32), u64(40), u64(48))
    try patch(&bytes, file)
    let metadata = Array(edit(String(decoding: bytes[metadataOffset..<(metadataOffset + metadataLength)], as: UTF8.self)).utf8)
    var body = metadata + bytes[directoryOffset..<(directoryOffset + directoryLength)]
    precondition(128 + body.count <= dataOffset, "the edited metadata must still end before the tensor data")
    body += [UInt8](repeating: 0, count: dataOffset - 128 - body.count)
    body += bytes[dataOffset...]
    var header = Array(bytes[0..<128])
    header.patch(24, UInt64(metadata.count))
    header.patch(32, UInt64(128 + metadata.count))
    var crc = CRC32()
    body.withUnsafeBytes { crc.update($0) }
    header.patch(76, crc.value)
    return try SyntheticModel.write(header + body)
}
