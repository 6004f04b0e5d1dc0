import Foundation
import RecycleDecoding
import RecycleModel
import XCTest

/// Speculative decoding is lossless: with greedy choice, every drafter's tokens equal plain
/// decoding's, token for token, on real Spec-Bench prompts, over several turns of a chat.
final class LosslessTests: XCTestCase {
    /// The first turn of a few Spec-Bench questions, one per group, as ChatML with no system message.
    func questions(_ ids: [Int]) throws -> [[String]] {
        let url = repositoryRoot.appendingPathComponent("Benchmarks/data/spec_bench.jsonl")
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
        let all = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        return ids.map { id in all.first { $0["question_id"] as? Int == id }!["turns"] as! [String] }
    }

    /// Runs every turn of `turns` as one conversation and returns each turn's tokens.
    func converse(_ turns: [String], drafter: Drafter, generator: Generator, maxTokens: Int,
                  sampler: Sampler = .greedy) throws -> [[Int32]] {
        try conversation(turns, drafter: drafter, generator: generator, maxTokens: maxTokens, sampler: sampler).map(\.tokens)
    }

    /// Runs every turn of `turns` as one conversation and returns each turn's result.
    func conversation(_ turns: [String], drafter: Drafter, generator: Generator, maxTokens: Int,
                      sampler: Sampler) throws -> [GenerationResult] {
        let model = generator.model
        var conversation: [Int32] = [], replies: [GenerationResult] = []
        for (i, turn) in turns.enumerated() {
            let rendered = model.chatTemplate!.render([ChatMessage(role: "user", content: turn)], defaultSystemPrompt: nil,
                                                      addGenerationPrompt: true)
            conversation += model.tokenizer.encode((i == 0 ? "" : "\n") + rendered)
            let result = try generator.generate(prompt: conversation, maxTokens: maxTokens, sampler: sampler, drafter: drafter)
            replies.append(result)
            conversation += result.tokens
            if result.stopReason != .eos { conversation.append(model.tokenizer.eosID) }
        }
        return replies
    }

    func testEveryDrafterMatchesPlainGreedy() throws {
        let model = try defaultModel()
        let vocab = model.config.vocabSize
        // mt_bench (two turns), translation, summarization, qa, math_reasoning, rag.
        let prompts = try questions([81, 181, 261, 341, 421, 501])
        let plain = try Generator(model: model, contextLength: 2048, threads: 2)
        let expected = try prompts.map { try converse($0, drafter: NoDrafter(), generator: plain, maxTokens: 40) }

        let drafters: [(String, Drafter, Int)] = [
            ("recycle 2.2.2 hot", TokenRecycler(vocabularySize: vocab, shape: .fixed(try .named("2.2.2", k: 8))), 1),
            ("recycle chain16 cold", TokenRecycler(vocabularySize: vocab, shape: .fixed(try .named("chain16", k: 8)), start: .cold), 3),
            ("recycle spine4 hot, k 4", TokenRecycler(vocabularySize: vocab, k: 4, shape: .fixed(try .named("spine4", k: 4))), 6),
            ("recycle auto", TokenRecycler(vocabularySize: vocab, shape: .auto), 3),
            ("pld", PromptLookup(), 6),
            ("suffix", SuffixDrafter(), 6),
            ("hybrid", HybridDrafter(vocabularySize: vocab), 6),
            ("hybrid cold", HybridDrafter(vocabularySize: vocab, start: .cold), 2),
        ]
        for (name, drafter, count) in drafters {
            let generator = try Generator(model: model, contextLength: 2048, threads: 2)
            for (prompt, reference) in zip(prompts, expected).prefix(count) {
                XCTAssertEqual(try converse(prompt, drafter: drafter, generator: generator, maxTokens: 40), reference, name)
            }
        }
    }

    /// Sampling is lossless too: with the same seed, every drafter's tokens equal plain
    /// sampling's, token for token (not merely a sample from the same distribution).
    func testEveryDrafterMatchesPlainSampling() throws {
        let model = try defaultModel()
        let vocab = model.config.vocabSize
        let prompts = try questions([81, 261, 421])
        let samplers = (0..<prompts.count).map { Sampler.random(temperature: 0.7, topP: 0.95, seed: UInt64(1000 + $0)) }
        let plain = try Generator(model: model, contextLength: 2048, threads: 2)
        let expected = try zip(prompts, samplers).map { try converse($0, drafter: NoDrafter(), generator: plain, maxTokens: 40, sampler: $1) }
        // The drafters sized by cost see modelled pass times, so that whether they draft
        // (asserted below) does not depend on how busy the machine is.
        let drafters: [(String, Drafter)] = [
            ("recycle auto", ModelledPassTime(TokenRecycler(vocabularySize: vocab, shape: .auto))),
            ("recycle 2.2.2-l2", TokenRecycler(vocabularySize: vocab, shape: .fixed(try .named("2.2.2-l2", k: 8)))),
            ("pld", PromptLookup()),
            ("suffix", SuffixDrafter()),
            ("hybrid", ModelledPassTime(HybridDrafter(vocabularySize: vocab))),
        ]
        for (name, drafter) in drafters {
            let generator = try Generator(model: model, contextLength: 2048, threads: 2)
            // Twice, as a first and a second run: the second meets a matrix and an index that
            // know these answers, so drafts are accepted and the walk down the tree is
            // exercised, not just the root.
            var tokens = 0, passes = 0
            for _ in 0..<2 {
                tokens = 0; passes = 0
                for ((prompt, sampler), reference) in zip(zip(prompts, samplers), expected) {
                    let replies = try conversation(prompt, drafter: drafter, generator: generator, maxTokens: 40, sampler: sampler)
                    XCTAssertEqual(replies.map(\.tokens), reference, name)
                    tokens += replies.map(\.tokens.count).reduce(0, +)
                    passes += replies.map(\.forwardPasses).reduce(0, +)
                }
            }
            XCTAssertGreaterThan(tokens, passes, name)
        }
    }

    /// Gemma 3 too (a 262,144-token vocabulary, sliding-window layers): every drafter's
    /// tokens equal plain decoding's, greedy and sampled, on the fixtures' prompts: code, a
    /// 744-token text whose drafts are verified past the 512-position window, and a chat.
    /// Each prompt runs twice, so that the second run's drafts are accepted.
    func testGemmaDraftersMatchPlainDecoding() throws {
        let model = try gemmaModel()
        let vocab = model.config.vocabSize
        let prompts = try ["raw_code", "long_context", "chat_story"].map {
            (try fixture($0, folder: "gemma3")["prompt_ids"] as! [Int]).map(Int32.init)
        }
        // Sampled: the drafters whose trees mix recycled and copied guesses (the others'
        // sampling path is the same code, and the SmolLM2 tests run it).
        for (sampler, count) in [(Sampler.greedy, 5), (.random(temperature: 0.8, topP: 0.95, seed: 7), 2)] {
            let plain = try Generator(model: model, contextLength: 1024, threads: 2)
            let expected = try prompts.map { try plain.generate(prompt: $0, maxTokens: 40, sampler: sampler).tokens }
            let drafters: [(String, Drafter)] = [
                ("recycle auto", ModelledPassTime(TokenRecycler(vocabularySize: vocab, shape: .auto))),
                ("hybrid", ModelledPassTime(HybridDrafter(vocabularySize: vocab))),
                ("recycle 2.2.2 cold", TokenRecycler(vocabularySize: vocab, shape: .fixed(try .named("2.2.2", k: 8)), start: .cold)),
                ("pld", PromptLookup()),
                ("suffix", SuffixDrafter()),
            ]
            for (name, drafter) in drafters.prefix(count) {
                let generator = try Generator(model: model, contextLength: 1024, threads: 2)
                var tokens = 0, passes = 0
                for _ in 0..<2 {
                    for (prompt, reference) in zip(prompts, expected) {
                        let result = try generator.generate(prompt: prompt, maxTokens: 40, sampler: sampler, drafter: drafter)
                        XCTAssertEqual(result.tokens, reference, "\(name), \(sampler)")
                        tokens += result.tokens.count
                        passes += result.forwardPasses
                    }
                }
                XCTAssertGreaterThan(tokens, passes, "\(name), \(sampler): no draft was ever accepted")
            }
        }
    }

    /// Drafts that are accepted: a recycler whose matrix was trained on the very text it
    /// will produce accepts long paths, and the output still equals plain decoding.
    func testLongAcceptedPathsStayExact() throws {
        let model = try defaultModel()
        let prompt = model.tokenizer.encode("Count from one to twenty: one, two, three,")
        let recycler = TokenRecycler(vocabularySize: model.config.vocabSize, shape: .fixed(try .named("2.2.2-l2", k: 8)))
        let plain = try Generator(model: model, contextLength: 256, threads: 1).generate(prompt: prompt, maxTokens: 40, sampler: .greedy)
        let generator = try Generator(model: model, contextLength: 256, threads: 2)
        _ = try generator.generate(prompt: prompt, maxTokens: 40, sampler: .greedy, drafter: recycler)
        let again = try generator.generate(prompt: prompt, maxTokens: 40, sampler: .greedy, drafter: recycler)
        XCTAssertEqual(again.tokens, plain.tokens)
        XCTAssertGreaterThan(again.meanAccepted, 2, "a warm matrix on a repeated prompt should accept several tokens per pass")
        XCTAssertEqual(again.acceptHistogram.enumerated().reduce(0) { $0 + $1.offset * $1.element }, again.tokens.count)
    }
}
