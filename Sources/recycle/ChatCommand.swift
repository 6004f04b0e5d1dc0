#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import RecycleArguments
import RecycleDecoding
import RecycleModel
import RecycleTools

/// `recycle chat`: an interactive, multi-turn conversation. The KV cache and the drafter's
/// state (the recycler's matrix) live on between turns: each turn only runs the new tokens.
struct ChatCommand {
    static let options: [Arguments.Option] = RunOptions.options + [
        .init(names: ["--max-tokens", "-n"], kind: .value),
    ]

    let args: Arguments

    init(_ args: Arguments) { self.args = args }

    func run() throws {
        if args.has("--help") { try Output.write(usage + "\n"); return }
        guard args.positionals.isEmpty else { throw UsageError("unexpected argument \"\(args.positionals[0])\"") }
        let maxTokens = try args.int("--max-tokens", default: 512, in: 1...1 << 20)
        let run = try RunOptions(args)
        let model = run.model
        guard let template = model.chatTemplate else { throw Failure("this model has no chat template") }
        let context = try args.int("--context", default: min(model.config.contextLength, 4096), in: 1...model.config.contextLength)
        let generator = try run.generator(context: context)
        let (system, fallback) = run.systemPrompt(args)
        installInterruptHandler()

        // The conversation as tokens: rendered turns plus the model's own generated ids
        // (re-encoding generated text could give other ids and waste the cache).
        var conversation: [Int32] = []
        var first = true, loadReported = false
        var sink = TextSink()
        var input = PromptReader()
        let onStep = run.stepObserver()
        Output.log("Chat with the model. An empty line, Ctrl-D or Ctrl-C at the prompt ends the conversation; Ctrl-C stops a reply.")
        while true {
            sink.write("> ")
            guard sink.failure == nil, let line = input.next(), !line.allSatisfy(\.isWhitespace) else { break }
            var messages = first ? (system.map { [$0] } ?? []) : []
            messages.append(ChatMessage(role: "user", content: line))
            let turn = template.pieces(messages, defaultSystemPrompt: first ? fallback : nil, addGenerationPrompt: true)
            let ids = model.tokenizer.encode((first ? [] : [.markup("\n")]) + turn)
            // Encoding starts with BOS where the model wants one (Gemma): once per conversation.
            conversation += first || !model.tokenizer.addsBOS ? ids : Array(ids.dropFirst())
            first = false
            guard conversation.count + maxTokens <= context else {
                Output.log("the conversation has reached the context size (\(context) positions); start a new chat or raise --context")
                break
            }
            var stream = GeneratedText(model: model, stopStrings: run.stops)
            let stops = model.stopTokens
            Interrupt.requested.store(false, ordering: .relaxed)
            run.trace?.begin(model: run.modelPath, drafter: run.drafter, sampler: run.sampler, prompt: conversation)
            do {
                let result = try generator.generate(prompt: conversation, maxTokens: maxTokens, sampler: run.sampler,
                                                    drafter: run.drafter, onToken: { token in
                    sink.write(stream.append(token))
                }, onStep: onStep, isCancelled: { stream.stopped || Interrupt.requested.load(ordering: .relaxed) })
                run.trace?.end(result, text: model.tokenizer.decode(result.tokens.filter { !stops.contains($0) }))
                sink.write(stream.finish() + "\n")
                let reason = Interrupt.reason(result, stopString: stream.stopped)
                Output.log(summary(result, stopReason: reason, run: run, loaded: !loadReported))
                loadReported = true
                conversation += result.tokens
                // A reply cut short still ends its turn, so the template stays well formed.
                if result.stopReason != .eos { conversation.append(model.endOfTurn ?? model.tokenizer.eosID) }
                // That interrupt was for this reply; the next one at the prompt ends the chat.
                if reason == "interrupted" && sink.failure == nil { Interrupt.requested.store(false, ordering: .relaxed) }
            } catch {
                throw Failure(error.description)
            }
            if sink.failure != nil { break }
        }
        // Saved before the output's failure is reported: a closed stdout must not lose the state.
        try run.saveState()
        try sink.check()
        try run.checkTrace()
    }
}
