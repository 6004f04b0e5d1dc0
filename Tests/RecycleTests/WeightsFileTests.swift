import Foundation
import RecycleModel
import XCTest

/// Every class of malformed file the loader guards against, each fed to it for real.
final class WeightsFileTests: XCTestCase {
    /// Opens `bytes` as a model and returns the error it gives (nil if it loads).
    func loadError(_ bytes: [UInt8]) throws -> WeightsFileError? {
        let path = try SyntheticModel.write(bytes)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try Model(path: path)
            return nil
        } catch {
            return error
        }
    }

    func expect(_ bytes: [UInt8], _ check: (WeightsFileError) -> Bool, _ what: String,
                file: StaticString = #filePath, line: UInt = #line) throws {
        guard let error = try loadError(bytes) else {
            return XCTFail("a file with \(what) loaded without error", file: file, line: line)
        }
        XCTAssertTrue(check(error), "\(what): unexpected error \(error)", file: file, line: line)
        XCTAssertFalse(error.description.isEmpty)
    }

    func mutated(_ change: (inout SyntheticModel) -> Void) -> [UInt8] {
        var model = SyntheticModel()
        change(&model)
        return model.encode()
    }

    func testValidSyntheticFileLoadsAndVerifies() throws {
        let path = try SyntheticModel.write(SyntheticModel().encode())
        defer { try? FileManager.default.removeItem(atPath: path) }
        let model = try Model(path: path)
        XCTAssertEqual(model.config.layers, 2)
        XCTAssertEqual(model.file.tensors.count, 20)
        XCTAssertNoThrow(try model.file.verifyChecksum())
    }

    func testMissingFile() throws {
        XCTAssertThrowsError(try WeightsFile(path: "/nonexistent/model.rcyl")) { error in
            guard case .cannotOpen = error as? WeightsFileError else { return XCTFail("\(error)") }
        }
    }

    func testHeaderCorruptions() throws {
        let good = SyntheticModel().encode()
        try expect(Array(good[0..<100]), { if case .tooSmall = $0 { true } else { false } }, "a 100-byte file")
        var b = good; b[0] = UInt8(ascii: "X")
        try expect(b, { $0 == .badMagic }, "bad magic")
        b = good; b.patch(8, UInt32(2))
        try expect(b, { $0 == .unsupportedVersion(2) }, "version 2")
        b = good; b.patch(12, UInt32(64))
        try expect(b, { if case .badHeader = $0 { true } else { false } }, "header_size 64")
        b = good; b[100] = 1
        try expect(b, { if case .badHeader = $0 { true } else { false } }, "non-zero reserved bytes")
        b = good; b.patch(72, UInt32(7))
        try expect(b, { if case .badHeader = $0 { true } else { false } }, "an unknown checksum kind")
        try expect(Array(good.dropLast(10)), { if case .sectionOutOfBounds = $0 { true } else { false } }, "a truncated file")
        try expect(good + [0, 0], { if case .sectionOutOfBounds = $0 { true } else { false } }, "trailing bytes")
        b = good; b.patch(16, UInt64(1) << 40)
        try expect(b, { if case .sectionOutOfBounds = $0 { true } else { false } }, "metadata offset beyond the file")
        b = good; b.patch(24, UInt64.max)
        try expect(b, { if case .sectionOutOfBounds = $0 { true } else { false } }, "a huge metadata length (overflow)")
        b = good; b.patch(48, UInt64(good.count - SyntheticModel().data.count + 1))
        try expect(b, { if case .badHeader = $0 { true } else if case .sectionOutOfBounds = $0 { true } else { false } }, "a misaligned data offset")
    }

    func testMetadataCorruptions() throws {
        let metaLength = json(SyntheticModel().metadata).count
        let garbage = [UInt8](repeating: UInt8(ascii: "{"), count: metaLength)
        try expect(SyntheticModel().encode(metadataBytes: garbage),
                   { if case .invalidJSON(section: "metadata", _) = $0 { true } else { false } }, "metadata that is not JSON")
        var invalidUTF8 = json(SyntheticModel().metadata)
        invalidUTF8[invalidUTF8.count / 2] = 0xFF
        try expect(SyntheticModel().encode(metadataBytes: invalidUTF8),
                   { $0 == .invalidJSON(section: "metadata", detail: "not valid UTF-8") }, "metadata that is not UTF-8")
        try expect(mutated { $0.metadata["config"] = nil },
                   { $0 == .invalidJSON(section: "metadata", detail: "missing key \"config\"") }, "no config")
        try expect(mutated { $0.metadata["architecture"] = "gpt-neox" },
                   { $0 == .unsupportedArchitecture("gpt-neox") }, "an unknown architecture")
        try expect(mutated { $0.metadata["chat_template"] = "alpaca" },
                   { $0 == .unsupportedChatTemplate("alpaca") }, "an unknown chat template")
        try expect(mutated { m in
            var c = m.metadata["config"] as! [String: Any]; c["n_kv_heads"] = 3; m.metadata["config"] = c
        }, { if case .invalidConfig = $0 { true } else { false } }, "heads not a multiple of kv heads")
        try expect(mutated { m in
            var c = m.metadata["config"] as! [String: Any]; c["d_model"] = -32; m.metadata["config"] = c
        }, { if case .invalidConfig = $0 { true } else { false } }, "a negative dimension")
        try expect(mutated { m in
            var c = m.metadata["config"] as! [String: Any]; c["rope_pairing"] = "interleaved"; m.metadata["config"] = c
        }, { if case .invalidConfig = $0 { true } else { false } }, "an unknown rope pairing")
        try expect(mutated { m in
            var t = m.metadata["tokenizer"] as! [String: Any]; t["tokens"] = ["a", "b"]; m.metadata["tokenizer"] = t
        }, { if case .invalidTokenizer = $0 { true } else { false } }, "a vocabulary of the wrong size")
        try expect(mutated { m in
            var t = m.metadata["tokenizer"] as! [String: Any]; t["merges"] = ["ABC"]; m.metadata["tokenizer"] = t
        }, { if case .invalidTokenizer = $0 { true } else { false } }, "a malformed merge")
        try expect(mutated { m in
            var t = m.metadata["tokenizer"] as! [String: Any]; t["token_types"] = [1, 2, 3]; m.metadata["tokenizer"] = t
        }, { if case .invalidTokenizer = $0 { true } else { false } }, "token types of the wrong length")
    }

    func testDirectoryCorruptions() throws {
        func isInvalidTensor(_ name: String) -> (WeightsFileError) -> Bool {
            { if case .invalidTensor(name, _) = $0 { true } else { false } }
        }
        let q = "blk.0.attn_q.weight"
        try expect(mutated { $0.directory[$0.entry(q)]["dtype"] = "q5_k" }, isInvalidTensor(q), "an unknown dtype")
        try expect(mutated { $0.directory[$0.entry(q)]["length"] = 100 }, isInvalidTensor(q), "a length that does not match the shape")
        try expect(mutated { $0.directory[$0.entry(q)]["shape"] = [32, 0] }, isInvalidTensor(q), "a zero dimension")
        try expect(mutated { $0.directory[$0.entry(q)]["shape"] = [40, 20] }, isInvalidTensor(q), "a row that is not whole blocks")
        try expect(mutated { $0.directory[$0.entry(q)]["offset"] = ($0.directory[$0.entry(q)]["offset"] as! Int) + 4 },
                   isInvalidTensor(q), "a misaligned offset")
        try expect(mutated { $0.directory[$0.entry(q)]["offset"] = $0.data.count }, isInvalidTensor(q), "bytes beyond the data region")
        try expect(mutated { $0.directory[$0.entry(q)]["offset"] = -64 }, isInvalidTensor(q), "a negative offset")
        try expect(mutated { m in m.directory[m.entry(q)]["offset"] = m.directory[m.entry("blk.0.attn_norm.weight")]["offset"] },
                   { if case .overlappingTensors = $0 { true } else { false } }, "overlapping tensors")
        try expect(mutated { m in m.directory[m.entry("blk.1.ffn_up.weight")]["name"] = "blk.1.ffn_gate.weight" },
                   { $0 == .duplicateTensor("blk.1.ffn_gate.weight") }, "a duplicate name")
        try expect(mutated { m in m.directory.remove(at: m.entry("blk.1.ffn_up.weight")) },
                   { $0 == .missingTensor("blk.1.ffn_up.weight") }, "a missing tensor")
        try expect(mutated { m in
            m.directory[m.entry(q)]["shape"] = [16, 64]
        }, { if case .wrongShape(q, _, _) = $0 { true } else { false } }, "a matrix of the wrong shape")
        try expect(mutated { m in
            let i = m.entry("output_norm.weight")
            m.directory[i]["dtype"] = "f16"; m.directory[i]["length"] = 64
        }, { if case .wrongDType("output_norm.weight", _, _) = $0 { true } else { false } }, "an f16 norm")
        try expect(mutated { $0.directory = [] }, { $0 == .missingTensor("token_embd.weight") }, "an empty directory")
    }

    /// Values chosen so that the arithmetic on them would overflow (and trap) if it ran
    /// before the bounds checks.
    func testOverflowingValues() throws {
        try expect(mutated { m in
            var c = m.metadata["config"] as! [String: Any]; c["head_dim"] = 1 << 60; m.metadata["config"] = c
        }, { if case let .invalidConfig(why) = $0 { why.contains("implausibly large") } else { false } }, "head_dim 2^60")
        try expect(mutated { m in
            var c = m.metadata["config"] as! [String: Any]; c["n_kv_heads"] = 1 << 40; m.metadata["config"] = c
        }, { if case .invalidConfig = $0 { true } else { false } }, "n_kv_heads 2^40")
        let q = "blk.0.attn_q.weight"
        try expect(mutated { $0.directory[$0.entry(q)]["offset"] = Int.max - 63 },
                   { if case let .invalidTensor(name, problem) = $0 { name == q && problem.contains("outside the data region") } else { false } },
                   "an offset of 2^63 - 64")
        try expect(mutated { $0.directory[$0.entry(q)]["shape"] = [1 << 31, 1 << 31, 1 << 31, 32] },
                   { if case let .invalidTensor(name, problem) = $0 { name == q && problem.contains("too many elements") } else { false } },
                   "a 4-D shape whose element count overflows")
    }

    /// A config that disagrees with the stored tensors is refused, not run as another model.
    func testLayerCountBelowTheStoredLayers() throws {
        try expect(mutated { m in
            var c = m.metadata["config"] as! [String: Any]; c["n_layers"] = 1; m.metadata["config"] = c
        }, { $0 == .unexpectedTensor(name: "blk.1.attn_norm.weight", layers: 1, architecture: "llama") }, "n_layers 1 of 2 stored")
        try expect(mutated { m in
            m.directory.append(["name": "rope_freqs.weight", "dtype": "f32", "shape": [16], "offset": m.data.count, "length": 64])
            m.data += [UInt8](repeating: 0, count: 64)
        }, { if case .unexpectedTensor("rope_freqs.weight", _, _) = $0 { true } else { false } }, "an unknown tensor")
    }

    /// A FIFO (or any other non-regular file) is refused at once instead of blocking the open.
    func testFIFOIsRefusedWithoutBlocking() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fifo-\(UUID().uuidString)").path
        XCTAssertEqual(mkfifo(path, 0o600), 0)
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertThrowsError(try WeightsFile(path: path)) { error in
            XCTAssertEqual(error as? WeightsFileError, .cannotOpen(path: path, reason: "not a regular file"))
        }
    }

    func testDirectoryThatIsNotAnArray() throws {
        var model = SyntheticModel()
        model.directory = [["name": 5]]
        try expect(model.encode(), { if case .invalidJSON(section: "tensor directory", _) = $0 { true } else { false } },
                   "a directory entry with wrong types")
    }

    func testChecksumDetectsCorruptData() throws {
        var bytes = SyntheticModel().encode()
        bytes[bytes.count - 5] ^= 0x40  // inside the last tensor: the structure stays valid
        let path = try SyntheticModel.write(bytes)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try WeightsFile(path: path)
        XCTAssertThrowsError(try file.verifyChecksum()) { error in
            guard case .checksumMismatch = error as? WeightsFileError else { return XCTFail("\(error)") }
        }
    }
}
