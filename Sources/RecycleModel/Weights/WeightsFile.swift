#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import RecycleKernels

/// One entry of the tensor directory, after validation.
public struct TensorInfo: Sendable, Equatable {
    /// The tensor's name ("blk.0.attn_q.weight"); unique in the file.
    public let name: String
    /// Encoding of the elements.
    public let dtype: DType
    /// Outer dimension first; the last one is contiguous.
    public let shape: [Int]
    /// Byte offset from the start of the file (not from the data region).
    public let fileOffset: Int
    /// Bytes of the tensor's data; equal to what `shape` and `dtype` imply.
    public let length: Int
}

/// A memory-mapped `.rcyl` weights file (docs/FORMAT.md), fully validated on open.
///
/// Every offset, length, count and string is checked before use, so that a truncated,
/// corrupt or hostile file gives a `WeightsFileError` naming the problem and never an
/// out-of-bounds read. Tensor bytes are paged in lazily by the OS as kernels touch them.
public final class WeightsFile: @unchecked Sendable {
    /// Bytes of the fixed header at the start of the file.
    public static let headerSize = 128
    static let magic: [UInt8] = Array("RCYLWTS".utf8) + [0]

    /// The path the file was opened from.
    public let path: String
    /// The metadata block, decoded and validated (config, tokenizer, chat template).
    public let metadata: ModelMetadata
    /// Directory entries in file order.
    public let tensors: [TensorInfo]
    /// The CRC-32 the header claims for bytes `[headerSize, fileLength)`.
    public let storedChecksum: UInt32
    private let byName: [String: TensorInfo]
    private let bytes: UnsafeRawBufferPointer

    /// Maps the file at `path` read-only and validates the header, metadata and tensor
    /// directory; throws naming the first problem found. Does not verify the checksum.
    public init(path: String) throws(WeightsFileError) {
        self.path = path
        // O_NONBLOCK: opening a FIFO for reading would otherwise block until a writer comes;
        // the fstat below then refuses anything that is not a regular file.
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw .cannotOpen(path: path, reason: "not a regular file") }
        let size = Int(info.st_size)
        guard size >= Self.headerSize else { throw .tooSmall(size: size) }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw .cannotOpen(path: path, reason: "mmap failed: " + String(cString: strerror(errno)))
        }
        let bytes = UnsafeRawBufferPointer(start: base, count: size)
        do {
            let layout = try FileLayout(bytes)
            let metadata = try Self.decode(ModelMetadata.self, bytes[layout.metadata], section: "metadata")
            try Self.validate(metadata)
            let entries = try Self.decode([DirectoryEntry].self, bytes[layout.directory], section: "tensor directory")
            let tensors = try Self.validate(entries, data: layout.data)
            self.metadata = metadata
            self.tensors = tensors
            self.byName = Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0) })
            self.storedChecksum = layout.checksum
            self.bytes = bytes
        } catch {
            munmap(base, size)
            throw error
        }
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress!), bytes.count) }

    /// Lets the OS drop the pages of the mapping that hold `m` (clean copies of the file; a
    /// later read pages them in again). The loader calls it once it has copied a matrix into
    /// the kernels' layout, so that the resident memory holds one copy of the weights, not two.
    public func releaseResidentPages(of m: Matrix) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let mapped = Int(bitPattern: bytes.baseAddress!)
        let start = max(mapped, (Int(bitPattern: m.base) / page) * page)
        let end = min(mapped + bytes.count, Int(bitPattern: m.base) + m.rows * m.rowBytes)
        guard end > start else { return }
        _ = madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, MADV_DONTNEED)
    }

    /// Size of the file in bytes.
    public var fileSize: Int { bytes.count }

    /// The directory entry of tensor `name`; throws `.missingTensor` when there is none.
    public func tensor(_ name: String) throws(WeightsFileError) -> TensorInfo {
        guard let t = byName[name] else { throw .missingTensor(name) }
        return t
    }

    /// The tensor `name` as a matrix view, after checking its shape is `[rows, cols]`.
    public func matrix(_ name: String, rows: Int, cols: Int) throws(WeightsFileError) -> Matrix {
        let t = try tensor(name)
        guard t.shape == [rows, cols] else { throw .wrongShape(name: name, expected: [rows, cols], found: t.shape) }
        return Matrix(dtype: t.dtype, rows: rows, cols: cols, base: bytes.baseAddress! + t.fileOffset)
    }

    /// The `f32` vector `name` of `count` elements.
    public func vector(_ name: String, count: Int) throws(WeightsFileError) -> UnsafePointer<Float> {
        let t = try tensor(name)
        guard t.shape == [count] else { throw .wrongShape(name: name, expected: [count], found: t.shape) }
        guard t.dtype == .f32 else { throw .wrongDType(name: name, expected: "f32", found: t.dtype.rawValue) }
        // Offsets are multiples of 64 from a page-aligned mapping, so f32 alignment holds.
        return (bytes.baseAddress! + t.fileOffset).assumingMemoryBound(to: Float.self)
    }

    /// Recomputes the CRC-32 of everything after the header (reads the whole file).
    public func computeChecksum() -> UInt32 {
        var crc = CRC32()
        crc.update(UnsafeRawBufferPointer(rebasing: bytes[Self.headerSize...]))
        return crc.value
    }

    /// Throws `.checksumMismatch` when the file's bytes do not match the stored CRC-32.
    public func verifyChecksum() throws(WeightsFileError) {
        let computed = computeChecksum()
        guard computed == storedChecksum else { throw .checksumMismatch(stored: storedChecksum, computed: computed) }
    }

    // MARK: Validation

    private static func decode<T: Decodable>(
        _ type: T.Type, _ slice: Slice<UnsafeRawBufferPointer>, section: String
    ) throws(WeightsFileError) -> T {
        let data = Data(slice)
        guard String(validating: data, as: UTF8.self) != nil else {
            throw .invalidJSON(section: section, detail: "not valid UTF-8")
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let DecodingError.keyNotFound(key, context) {
            throw .invalidJSON(section: section, detail: "missing key \"\(key.stringValue)\"" + where_(context))
        } catch let DecodingError.typeMismatch(_, context) {
            throw .invalidJSON(section: section, detail: "wrong type" + where_(context))
        } catch let DecodingError.valueNotFound(_, context) {
            throw .invalidJSON(section: section, detail: "null value" + where_(context))
        } catch {
            throw .invalidJSON(section: section, detail: "not valid JSON")
        }
    }

    private static func validate(_ m: ModelMetadata) throws(WeightsFileError) {
        guard Architecture(rawValue: m.architecture) != nil else { throw .unsupportedArchitecture(m.architecture) }
        try m.config.validate()
        if let t = m.chatTemplate, ChatTemplate(rawValue: t) == nil { throw .unsupportedChatTemplate(t) }
        guard m.tokenizer.tokens.count == m.config.vocabSize else {
            throw .invalidTokenizer("\(m.tokenizer.tokens.count) tokens for a vocabulary of \(m.config.vocabSize)")
        }
    }

    private static func validate(_ entries: [DirectoryEntry], data: Range<Int>) throws(WeightsFileError) -> [TensorInfo] {
        var seen = Set<String>()
        var result: [TensorInfo] = []
        for e in entries {
            guard seen.insert(e.name).inserted else { throw .duplicateTensor(e.name) }
            guard let dtype = DType(rawValue: e.dtype) else {
                throw .invalidTensor(name: e.name, problem: "unknown dtype \"\(e.dtype)\"")
            }
            guard !e.shape.isEmpty, e.shape.count <= 4, e.shape.allSatisfy({ $0 > 0 && $0 <= 1 << 31 }) else {
                throw .invalidTensor(name: e.name, problem: "invalid shape \(e.shape)")
            }
            // Each dimension is at most 2^31, but their product can still overflow.
            var outer: Int? = 1
            for dim in e.shape.dropLast() {
                outer = outer.flatMap { o in
                    let (p, overflow) = o.multipliedReportingOverflow(by: dim)
                    return overflow ? nil : p
                }
            }
            guard let outer else { throw .invalidTensor(name: e.name, problem: "shape \(e.shape) has too many elements") }
            guard let rowBytes = dtype.rowBytes(elements: e.shape.last!) else {
                throw .invalidTensor(name: e.name, problem: "last dimension \(e.shape.last!) is not a multiple of \(dtype.blockElements) (\(dtype.rawValue) blocks)")
            }
            let (expected, overflow) = outer.multipliedReportingOverflow(by: rowBytes)
            guard !overflow, expected == e.length else {
                throw .invalidTensor(name: e.name, problem: "length \(e.length) does not match shape \(e.shape) of \(dtype.rawValue)")
            }
            guard e.offset >= 0, e.offset % 64 == 0 else {
                throw .invalidTensor(name: e.name, problem: "offset \(e.offset) is not a multiple of 64")
            }
            guard e.offset <= data.count, e.length <= data.count - e.offset else {
                // Not `offset + length`: both come from the file, and their sum may overflow.
                throw .invalidTensor(name: e.name, problem: "\(e.length) bytes at offset \(e.offset) lie outside the data region of \(data.count) bytes")
            }
            result.append(TensorInfo(name: e.name, dtype: dtype, shape: e.shape,
                                     fileOffset: data.lowerBound + e.offset, length: e.length))
        }
        let sorted = result.sorted { $0.fileOffset < $1.fileOffset }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.fileOffset + a.length > b.fileOffset {
            throw .overlappingTensors(a.name, b.name)
        }
        return result
    }
}

private func where_(_ context: DecodingError.Context) -> String {
    let path = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    return path.isEmpty ? "" : " at \(path)"
}

/// A tensor directory entry as stored (docs/FORMAT.md, "Tensor directory").
private struct DirectoryEntry: Decodable {
    let name: String
    let dtype: String
    let shape: [Int]
    let offset: Int
    let length: Int
}

/// The fixed header, checked field by field (docs/FORMAT.md, "Header").
private struct FileLayout {
    let metadata: Range<Int>
    let directory: Range<Int>
    let data: Range<Int>
    let checksum: UInt32

    init(_ b: UnsafeRawBufferPointer) throws(WeightsFileError) {
        guard Array(b[0..<8]) == WeightsFile.magic else { throw .badMagic }
        func u32(_ o: Int) -> UInt32 { UInt32(littleEndian: b.loadUnaligned(fromByteOffset: o, as: UInt32.self)) }
        func u64(_ o: Int) -> UInt64 { UInt64(littleEndian: b.loadUnaligned(fromByteOffset: o, as: UInt64.self)) }
        let version = u32(8)
        guard version == 1 else { throw .unsupportedVersion(version) }
        guard u32(12) == UInt32(WeightsFile.headerSize) else { throw .badHeader("header_size is \(u32(12)), expected 128") }
        guard b[80..<128].allSatisfy({ $0 == 0 }) else { throw .badHeader("reserved bytes are not zero") }
        guard u32(72) == 1 else { throw .badHeader("unknown checksum_kind \(u32(72))") }
        let size = UInt64(b.count)
        guard u64(64) == size else {
            throw .sectionOutOfBounds("header says the file is \(u64(64)) bytes but it is \(size) (truncated or appended to?)")
        }
        // A section [offset, offset + length) must start at or after `floor` and end within the file.
        func section(_ at: Int, _ name: String, after floor: UInt64) throws(WeightsFileError) -> Range<Int> {
            let offset = u64(at), length = u64(at + 8)
            guard offset >= floor, offset <= size, length <= size - offset else {
                throw .sectionOutOfBounds("\(name) at \(offset) (+\(length) bytes) is outside the file or out of order")
            }
            return Int(offset)..<Int(offset + length)
        }
        metadata = try section(16, "metadata", after: UInt64(WeightsFile.headerSize))
        directory = try section(32, "tensor directory", after: UInt64(metadata.upperBound))
        data = try section(48, "tensor data", after: UInt64(directory.upperBound))
        guard !metadata.isEmpty, !directory.isEmpty else { throw .sectionOutOfBounds("empty metadata or tensor directory") }
        guard data.lowerBound % 64 == 0 else { throw .badHeader("data_offset \(data.lowerBound) is not a multiple of 64") }
        guard data.upperBound == b.count else { throw .sectionOutOfBounds("tensor data does not end at the end of the file") }
        checksum = u32(76)
    }
}
