import Foundation
import XCTest

/// Weights that are corrupt although their checksum matches: NaN is caught where it appears.
final class NonFiniteWeightsTests: XCTestCase {
    func testNaNWeightsAreReportedWithTheirLayer() throws {
        // The f16 scale of a block's first weights: every output of that row becomes NaN. The
        // embedding table is also the (tied) output head, whose row 0 gives token 0's logit.
        for (tensor, message) in [("blk.5.ffn_down.weight", "the output of layer 5 (blk.5.*) holds NaN"),
                                  ("token_embd.weight", "the logits (output_norm, output head) holds NaN")] {
            let path = try patchedDefaultModel(data: { bytes, file in
                bytes.patch(try file.tensor(tensor).fileOffset, Float16.nan.bitPattern)
            })
            defer { try? FileManager.default.removeItem(atPath: path) }
            let result = try shell(#""$@""#, ["generate", "-m", path, "-p", "Once upon a time", "-n", "8"])
            XCTAssertEqual(result.status, 1, result.stderr)
            XCTAssertTrue(result.stderr.contains(message), result.stderr)
        }
    }
}
