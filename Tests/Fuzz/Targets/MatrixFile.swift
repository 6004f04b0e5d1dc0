// Fuzz target: recycler matrix files (MatrixFile.load). k and the vocabulary size are taken
// from the input's own header (bounded), and each input is loaded twice: as it is, and with
// its CRC-32 fixed up so that the fuzzer gets past the checksum. A matrix that loads must
// survive a save and load unchanged.
import RecycleDecoding
import RecycleModel

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var bytes = Array(UnsafeBufferPointer(start: data, count: size))
    func u32(_ at: Int) -> Int {
        at + 4 <= bytes.count ? Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24 : 1
    }
    let k = 1 + u32(12) % 16, vocabulary = 1 + u32(16) % 4096
    for pass in 0..<2 {
        if pass == 1 {
            guard bytes.count >= 24 else { break }
            var crc = CRC32()
            bytes[24...].withUnsafeBytes { crc.update($0) }
            putU32(&bytes, 20, crc.value)
        }
        let path = bytes.withUnsafeBytes { fuzzInputFile($0, suffix: ".adj") }
        guard let matrix = try? MatrixFile.load(path: path, vocabularySize: vocabulary, k: k) else { continue }
        precondition(matrix.count == vocabulary * k && matrix.allSatisfy { $0 >= 0 && Int($0) < vocabulary })
        let copy = path + ".saved"
        do {
            try MatrixFile.save(matrix, k: k, vocabularySize: vocabulary, path: copy)
            let again = try MatrixFile.load(path: copy, vocabularySize: vocabulary, k: k)
            precondition(again == matrix, "save and load changed the matrix")
        } catch {
            fatalError("a loaded matrix failed to save or reload: \(error)")
        }
    }
    return 0
}
