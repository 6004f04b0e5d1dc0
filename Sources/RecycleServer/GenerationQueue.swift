import Dispatch
import RecycleDecoding
import RecycleModel
import RecycleTools
import Synchronization

/// One request's generation, from the connection that asked to the worker that runs it.
///
/// Invariant for `@unchecked Sendable`: the connection thread fills it in, submits it,
/// signals `handedOver` once it has stopped writing to the client, and touches the job
/// again only after `done` is signalled; the worker waits for `handedOver` before it runs
/// the job (whose closures write to the client), reads it, writes `outcome`, and signals
/// `done`. The two semaphores order the two threads.
final class GenerationJob: @unchecked Sendable {
    let prompt: [Int32]
    let maxTokens: Int
    let sampler: Sampler
    let stops: [String]
    /// Called on the worker with each piece of text as it becomes visible; false when the
    /// client can no longer take it (the generation then stops).
    let onText: (String) -> Bool
    /// Asked between steps: true when the client has gone away.
    let isCancelled: () -> Bool
    /// Signalled by the connection thread when the worker may use the connection: after a
    /// streamed response's head. Without it, a job that found the queue empty could start at
    /// once, and its first token once went out before that head (the client read "c8", a
    /// chunk's size, where it expected a status line).
    let handedOver = DispatchSemaphore(value: 0)
    let done = DispatchSemaphore(value: 0)
    var outcome: Result<Outcome, APIError> = .failure(APIError(500, "the generation did not run"))

    struct Outcome {
        var text: String
        var promptTokens: Int
        var completionTokens: Int
        /// "stop" (end of turn or a stop string) or "length".
        var finishReason: String
        /// The client went away and the generation was cut short.
        var abandoned: Bool
        var meanAccepted: Double
        var reusedTokens: Int
        var secondsToFirstToken: Double
    }

    init(prompt: [Int32], maxTokens: Int, sampler: Sampler, stops: [String],
         onText: @escaping (String) -> Bool, isCancelled: @escaping () -> Bool) {
        self.prompt = prompt
        self.maxTokens = maxTokens
        self.sampler = sampler
        self.stops = stops
        self.onText = onText
        self.isCancelled = isCancelled
    }
}

/// One model, one generation at a time, and a bounded queue in front of it: a request
/// beyond the queue is refused at once (503) rather than left to hang. The generator, and
/// with it the KV cache and the drafter's matrix, live as long as the server: a request that
/// extends the last conversation reuses its cached prefix, and the matrix stays hot.
///
/// Invariant for `@unchecked Sendable`: `generator` and `drafter` are used by the worker
/// thread alone; the waiting jobs are behind a mutex.
final class GenerationQueue: @unchecked Sendable {
    let model: Model
    let generator: Generator
    let drafter: Drafter
    /// Jobs that may wait while one runs.
    let capacity: Int
    private let waiting = Mutex<[GenerationJob]>([])
    private let available = DispatchSemaphore(value: 0)

    init(model: Model, generator: Generator, drafter: Drafter, capacity: Int) {
        self.model = model
        self.generator = generator
        self.drafter = drafter
        self.capacity = capacity
    }

    /// The positions the KV cache holds: a prompt plus its tokens must fit.
    var contextLength: Int { generator.transformer.cache.capacity }

    /// Queues `job`; false if the queue is full.
    func submit(_ job: GenerationJob) -> Bool {
        let accepted = waiting.withLock { jobs in
            guard jobs.count < capacity else { return false }
            jobs.append(job)
            return true
        }
        if accepted { available.signal() }
        return accepted
    }

    /// Runs queued jobs one after another until `shouldStop` (checked twice a second, and
    /// between the steps of a generation, which it ends); a job left waiting then is answered
    /// 503.
    func work(shouldStop: () -> Bool) {
        while true {
            if available.wait(timeout: .now() + .milliseconds(500)) == .timedOut {
                if shouldStop() { break }
                continue
            }
            guard let job = waiting.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) else { continue }
            job.handedOver.wait()
            run(job, shouldStop: shouldStop)
            job.done.signal()
        }
        for job in waiting.withLock({ jobs in defer { jobs = [] }; return jobs }) {
            job.outcome = .failure(APIError(503, "the server is shutting down"))
            job.done.signal()
        }
    }

    private func run(_ job: GenerationJob, shouldStop: () -> Bool) {
        var stream = GeneratedText(model: model, stopStrings: job.stops)
        var text = "", gone = false, firstToken: Double?
        let clock = ContinuousClock(), start = clock.now
        func show(_ piece: String) {
            text += piece
            if !piece.isEmpty && !gone && !job.onText(piece) { gone = true }
        }
        do {
            let result = try generator.generate(
                prompt: job.prompt, maxTokens: job.maxTokens, sampler: job.sampler, drafter: drafter,
                onToken: { token in
                    if firstToken == nil { firstToken = start.duration(to: clock.now).seconds }
                    show(stream.append(token))
                },
                isCancelled: { stream.stopped || gone || job.isCancelled() || shouldStop() })
            show(stream.finish())
            let finish = stream.stopped || result.stopReason == .eos ? "stop" : "length"
            job.outcome = .success(.init(text: text, promptTokens: job.prompt.count, completionTokens: result.tokens.count,
                                         finishReason: finish, abandoned: result.stopReason == .cancelled && !stream.stopped,
                                         meanAccepted: result.meanAccepted,
                                         reusedTokens: result.reusedTokens, secondsToFirstToken: firstToken ?? 0))
        } catch {
            job.outcome = .failure(APIError(500, "generation failed: \(error)"))
        }
    }
}
