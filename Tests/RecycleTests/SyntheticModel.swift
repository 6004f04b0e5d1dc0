import Foundation
import RecycleModel

/// A tiny but complete `.rcyl` model written from scratch (2 layers, d_model 32, a
/// 64-token vocabulary, random weights), for tests of the file parser and of shapes.
/// It is never evidence that the runtime computes the right thing: the real-model tests are.
struct SyntheticModel {
    var metadata: [String: Any]
    /// Directory entries; `offset` is relative to the data region.
    var directory: [[String: Any]]
    var data: [UInt8]

    init(seed: UInt64 = 1) {
        let config: [String: Any] = [
            "n_layers": 2, "d_model": 32, "n_heads": 2, "n_kv_heads": 1, "head_dim": 16,
            "ffn_dim": 64, "vocab_size": 64, "context_length": 64, "rope_theta": 10000.0,
            "rms_norm_eps": 1e-5, "tied_embeddings": true, "rope_pairing": "adjacent",
        ]
        let specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
        let letters = (0..<61).map { String(UnicodeScalar(UInt8(0x41 + $0))) }  // "A"...
        let tokens = specials + letters
        metadata = [
            "architecture": "llama",
            "config": config,
            "tokenizer": [
                "model": "gpt2-bpe", "pre_tokenizer": "smollm", "tokens": tokens,
                "token_types": specials.map { _ in 3 } + letters.map { _ in 1 },
                "merges": ["A B", "C D"], "bos_id": 1, "eos_id": 2, "unk_id": 0, "pad_id": 2, "add_bos": false,
            ] as [String: Any],
            "chat_template": "chatml",
            "default_system_prompt": "You are a test.",
        ]
        var rng = TestRandom(seed: seed)
        var directory: [[String: Any]] = []
        var data: [UInt8] = []
        func add(_ name: String, _ dtype: String, _ shape: [Int]) {
            while data.count % 64 != 0 { data.append(0) }
            let start = data.count
            let elements = shape.reduce(1, *)
            switch dtype {
            case "f32":
                for _ in 0..<elements { data += le(Float(rng.uniform(0.5, 1.5)).bitPattern) }
            case "q8_0":
                for _ in 0..<(elements / 32) {
                    data += le(Float16(0.01).bitPattern)
                    for _ in 0..<32 { data.append(UInt8(truncatingIfNeeded: rng.next())) }
                }
            default:  // q4_1
                for _ in 0..<(elements / 32) {
                    data += le(Float16(0.02).bitPattern) + le(Float16(-0.15).bitPattern)
                    for _ in 0..<16 { data.append(UInt8(truncatingIfNeeded: rng.next())) }
                }
            }
            directory.append(["name": name, "dtype": dtype, "shape": shape, "offset": start, "length": data.count - start])
        }
        add("token_embd.weight", "q8_0", [64, 32])
        add("output_norm.weight", "f32", [32])
        for l in 0..<2 {
            add("blk.\(l).attn_norm.weight", "f32", [32])
            add("blk.\(l).attn_q.weight", "q4_1", [32, 32])
            add("blk.\(l).attn_k.weight", "q4_1", [16, 32])
            add("blk.\(l).attn_v.weight", "q4_1", [16, 32])
            add("blk.\(l).attn_output.weight", "q4_1", [32, 32])
            add("blk.\(l).ffn_norm.weight", "f32", [32])
            add("blk.\(l).ffn_gate.weight", "q4_1", [64, 32])
            add("blk.\(l).ffn_up.weight", "q4_1", [64, 32])
            add("blk.\(l).ffn_down.weight", "q4_1", [32, 64])
        }
        self.directory = directory
        self.data = data
    }

    /// Index of the directory entry `name`.
    func entry(_ name: String) -> Int { directory.firstIndex { $0["name"] as? String == name }! }

    /// The file, laid out as docs/FORMAT.md says, with a correct checksum.
    func encode(metadataBytes: [UInt8]? = nil) -> [UInt8] {
        let meta = metadataBytes ?? json(metadata)
        let dir = json(directory)
        var body = meta + dir
        let metadataOffset = 128, directoryOffset = 128 + meta.count
        while (128 + body.count) % 64 != 0 { body.append(0) }
        let dataOffset = 128 + body.count
        body += data
        var header = Array("RCYLWTS".utf8) + [0]
        header += le(UInt32(1)) + le(UInt32(128))
        header += le(UInt64(metadataOffset)) + le(UInt64(meta.count))
        header += le(UInt64(directoryOffset)) + le(UInt64(dir.count))
        header += le(UInt64(dataOffset)) + le(UInt64(data.count))
        header += le(UInt64(dataOffset + data.count))
        var crc = CRC32()
        body.withUnsafeBytes { crc.update($0) }
        header += le(UInt32(1)) + le(crc.value)
        header += [UInt8](repeating: 0, count: 48)
        return header + body
    }

    /// Writes `bytes` to a fresh temporary file and returns its path.
    static func write(_ bytes: [UInt8]) throws -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("synthetic-\(UUID().uuidString).rcyl").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }
}

func json(_ object: Any) -> [UInt8] { Array(try! JSONSerialization.data(withJSONObject: object)) }

func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }

extension Array where Element == UInt8 {
    /// Overwrites the little-endian integer at `offset`.
    mutating func patch<T: FixedWidthInteger>(_ offset: Int, _ v: T) {
        replaceSubrange(offset..<(offset + MemoryLayout<T>.size), with: le(v))
    }
}
