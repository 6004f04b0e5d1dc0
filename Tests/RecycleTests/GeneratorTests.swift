import RecycleDecoding
import RecycleModel
import RecycleTools
import XCTest

/// The generation loop on the real model: stopping, limits, sampling reproducibility.
final class GeneratorTests: XCTestCase {
    func testChatPromptStopsAtEndOfTurnLikeHuggingFace() throws {
        let f = try fixture("chatml_france")
        let prompt = (f["prompt_ids"] as! [Int]).map(Int32.init)
        let expected = (f["greedy_ids_eos_stopped"] as! [Int]).map(Int32.init)
        let generator = try Generator(model: try defaultModel(), contextLength: 256, threads: 2)
        var streamed: [Int32] = []
        let result = try generator.generate(prompt: prompt, maxTokens: 100, sampler: .greedy, topLogits: 3) { streamed.append($0) }
        XCTAssertEqual(result.tokens, expected)
        XCTAssertEqual(streamed, result.tokens)
        XCTAssertEqual(result.stopReason, .eos)
        XCTAssertEqual(result.steps.count, result.tokens.count)
        XCTAssertEqual(result.steps.map { $0.ids[0] }, result.tokens, "greedy picks the top logit")
        XCTAssertEqual(result.forwardPasses, result.tokens.count)
        XCTAssertEqual(result.acceptHistogram, [0, result.tokens.count])
        XCTAssertEqual(try defaultModel().tokenizer.decode(Array(result.tokens.dropLast())), "The capital of France is Paris.")
    }

    /// A second turn reuses the cached conversation and computes only what is new; a prompt
    /// that departs from the cache recomputes from the point of departure.
    func testNextTurnReusesTheCache() throws {
        let model = try defaultModel()
        let generator = try Generator(model: model, contextLength: 256, threads: 2)
        let first = model.tokenizer.encode("<|im_start|>user\nName a fruit.<|im_end|>\n<|im_start|>assistant\n")
        let one = try generator.generate(prompt: first, maxTokens: 16, sampler: .greedy)
        XCTAssertEqual(one.reusedTokens, 0)
        let next = first + one.tokens + model.tokenizer.encode("\n<|im_start|>user\nAnother one.<|im_end|>\n<|im_start|>assistant\n")
        let two = try generator.generate(prompt: next, maxTokens: 16, sampler: .greedy)
        XCTAssertEqual(two.reusedTokens, first.count + one.tokens.count - 1, "all but the last generated token (never fed back)")
        let fresh = try Generator(model: model, contextLength: 256, threads: 2).generate(prompt: next, maxTokens: 16, sampler: .greedy)
        XCTAssertEqual(two.tokens, fresh.tokens)
        let other = try generator.generate(prompt: Array(first.prefix(5)) + [28, 29, 30], maxTokens: 4, sampler: .greedy)
        XCTAssertEqual(other.reusedTokens, 5)
    }

    func testMaxTokensAndContextLimits() throws {
        let model = try defaultModel()
        let prompt = model.tokenizer.encode("Once upon a time")
        let generator = try Generator(model: model, contextLength: prompt.count + 4, threads: 1)
        let result = try generator.generate(prompt: prompt, maxTokens: 5, sampler: .greedy)
        XCTAssertEqual(result.tokens.count, 5)
        XCTAssertEqual(result.stopReason, .maxTokens)
        XCTAssertThrowsError(try generator.generate(prompt: prompt, maxTokens: 6, sampler: .greedy)) { error in
            XCTAssertEqual(error as? ForwardError, .contextFull(needed: prompt.count + 5, capacity: prompt.count + 4))
        }
    }

    func testSamplingIsReproducibleFromTheSeed() throws {
        let model = try defaultModel()
        let prompt = model.tokenizer.encode("The best thing about the sea is")
        let generator = try Generator(model: model, contextLength: 64, threads: 2)
        func sample(_ seed: UInt64) throws -> [Int32] {
            try generator.generate(prompt: prompt, maxTokens: 24, sampler: .random(temperature: 1.0, topP: 0.95, seed: seed)).tokens
        }
        let a = try sample(42), b = try sample(42)
        XCTAssertEqual(a, b)
        let others = try (1...4).map { try sample($0) }
        XCTAssertTrue(others.contains { $0 != a }, "five seeds all gave the same 24 tokens at temperature 1")
        // Temperature close to zero concentrates all mass on the top token: greedy.
        let greedy = try generator.generate(prompt: prompt, maxTokens: 24, sampler: .greedy).tokens
        let cold = try generator.generate(prompt: prompt, maxTokens: 24, sampler: .random(temperature: 1e-4, topP: 1, seed: 3)).tokens
        XCTAssertEqual(cold, greedy)
    }

    /// top-k = 1 and min-p = 1 leave only the best token: greedy, at any temperature; a
    /// wider top-k still samples.
    func testTopKAndMinP() throws {
        let model = try defaultModel()
        let prompt = model.tokenizer.encode("The best thing about the sea is")
        let generator = try Generator(model: model, contextLength: 64, threads: 2)
        let greedy = try generator.generate(prompt: prompt, maxTokens: 16, sampler: .greedy).tokens
        for sampler in [Sampler.random(temperature: 2, topP: 1, seed: 5, topK: 1), .random(temperature: 2, topP: 1, seed: 5, minP: 1)] {
            XCTAssertEqual(try generator.generate(prompt: prompt, maxTokens: 16, sampler: sampler).tokens, greedy)
        }
        let wide = try (1...4).map { seed in
            try generator.generate(prompt: prompt, maxTokens: 16, sampler: .random(temperature: 2, topP: 1, seed: seed, topK: 40)).tokens
        }
        XCTAssertTrue(wide.contains { $0 != greedy })
    }

    /// A generator refuses a context it cannot hold with an error, not a trap; a call can be
    /// cancelled on its own, keeping what it produced.
    func testContextErrorsAndCancellation() throws {
        let model = try defaultModel()
        XCTAssertThrowsError(try Generator(model: model, contextLength: 0, threads: 1)) {
            XCTAssertEqual($0 as? Generator.SetupError, .contextOutOfRange(requested: 0, limit: model.config.contextLength))
        }
        XCTAssertThrowsError(try Generator(model: model, contextLength: model.config.contextLength + 1, threads: 1))
        let generator = try Generator(model: model, contextLength: 128, threads: 2)
        var seen = 0
        let result = try generator.generate(prompt: model.tokenizer.encode("Once upon a time"), maxTokens: 50, sampler: .greedy,
                                            onToken: { _ in seen += 1 }, isCancelled: { seen >= 3 })
        XCTAssertEqual(result.stopReason, .cancelled)
        XCTAssertEqual(result.tokens.count, 3)
    }

    /// Stop strings end the text where they first appear, without showing any part of them,
    /// however the text is cut into pieces.
    func testStopStrings() {
        for pieces in [["Hello wor", "ld. STOP here"], ["Hello world. S", "T", "OP", " here"], ["Hello world. STOP here"]] {
            var stops = StopStrings(["STOP", "never"])
            var shown = ""
            for piece in pieces { shown += stops.append(piece) }
            shown += stops.finish()
            XCTAssertEqual(shown, "Hello world. ", "\(pieces)")
            XCTAssertTrue(stops.stopped)
        }
        var held = StopStrings(["STOP"])
        XCTAssertEqual(held.append("a ST"), "a ", "the possible start of a stop string waits")
        XCTAssertEqual(held.append("ART"), "START")
        XCTAssertEqual(held.append(" ST") + held.finish(), " ST", "released at the end")
        XCTAssertFalse(held.stopped)
    }
}
