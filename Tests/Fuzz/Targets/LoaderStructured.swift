// Fuzz target: the weights loader behind a valid header. The input is metadata JSON,
// directory JSON and tensor data joined by "\n--8<--\n" (Seeds/LoaderStructured); the target
// lays them out as docs/FORMAT.md says (data aligned to 64, correct sizes and CRC-32), so the
// fuzzer spends its time on the JSON and on the checks of tensors against the config.
import RecycleModel

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    guard let parts = split(input, by: Array("\n--8<--\n".utf8), parts: 3) else { return 0 }
    let (meta, dir, tensorData) = (parts[0], parts[1], parts[2])
    var body = meta + dir
    while (128 + body.count) % 64 != 0 { body.append(0) }
    let dataOffset = 128 + body.count
    body += tensorData
    var file = [UInt8](repeating: 0, count: 128)
    file.replaceSubrange(0..<8, with: Array("RCYLWTS".utf8) + [0])
    putU32(&file, 8, 1)
    putU32(&file, 12, 128)
    putU64(&file, 16, 128); putU64(&file, 24, UInt64(meta.count))
    putU64(&file, 32, UInt64(128 + meta.count)); putU64(&file, 40, UInt64(dir.count))
    putU64(&file, 48, UInt64(dataOffset)); putU64(&file, 56, UInt64(tensorData.count))
    putU64(&file, 64, UInt64(dataOffset + tensorData.count))
    var crc = CRC32()
    body.withUnsafeBytes { crc.update($0) }
    putU32(&file, 72, 1); putU32(&file, 76, crc.value)
    file += body
    let path = file.withUnsafeBytes { fuzzInputFile($0) }
    if let model = try? Model(path: path) {
        precondition((try? model.file.verifyChecksum()) != nil, "a correct CRC-32 failed verification")
        _ = model.tokenizer.decode(model.tokenizer.encode("<|im_start|>user\nHello ABC<|im_end|>"))
    }
    return 0
}
