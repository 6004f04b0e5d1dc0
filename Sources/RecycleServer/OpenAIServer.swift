#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Dispatch
import RecycleDecoding
import RecycleModel
import RecycleTools
import Synchronization

/// An OpenAI-compatible HTTP server for one model: `POST /v1/chat/completions`,
/// `POST /v1/completions` (both streamed as server-sent events on request), `GET /v1/models`
/// and `GET /health`. Generation goes through one `GenerationQueue`, so the KV cache and the
/// drafter's state carry over from request to request.
public final class OpenAIServer: Sendable {
    /// How the server listens, what requests get by default, and what they may ask for.
    public struct Options: Sendable {
        /// The IPv4 address to listen on ("localhost" means 127.0.0.1).
        public var host = "127.0.0.1"
        /// The TCP port to listen on; 0 lets the system choose.
        public var port = 8080
        /// Required as `Authorization: Bearer KEY` on every endpoint but `/health`, if set.
        public var apiKey: String?
        /// Requests that may wait while one generates.
        public var queue = 8
        /// Tokens a request without `max_tokens` gets (at most what the context leaves), and
        /// the most a request may ask for.
        public var maxTokens = 512
        /// The most tokens a request may ask for; a larger `max_tokens` is a 400.
        public var maxTokensLimit = 4096
        /// Sampling when a request does not say.
        public var temperature: Float = 0
        /// Nucleus sampling's probability mass when a request gives no `top_p`.
        public var topP: Float = 0.95
        /// A chat without a system message gets the model's default one, as `recycle chat` does.
        public var defaultSystemPrompt: String?
        /// The name `/v1/models` lists and responses carry.
        public var modelID = "recycle"
        /// Connection, timeout and request size limits of the HTTP server.
        public var limits = HTTPServer.Limits()
        /// Where a line per generation goes (the CLI: stderr).
        public var log: @Sendable (String) -> Void = { _ in }

        /// Every option at the default its declaration gives.
        public init() {}
    }

    private let http: HTTPServer
    private let queue: GenerationQueue
    private let options: Options
    private let requests = Atomic<Int>(0)
    private let started = Int(Date().timeIntervalSince1970)

    /// The port bound (the system's choice when `options.port` was 0).
    public var port: Int { http.port }

    /// Binds the socket (so that a port in use is an error before anything else), with a
    /// generator that must be used by this server alone from now on.
    public init(model: Model, generator: Generator, drafter: Drafter, options: Options) throws(HTTPServer.StartError) {
        http = try HTTPServer(host: options.host, port: options.port, limits: options.limits)
        queue = GenerationQueue(model: model, generator: generator, drafter: drafter, capacity: options.queue)
        self.options = options
    }

    /// Serves until `shouldStop` (checked a few times a second); returns once the generation
    /// in progress has ended, so that the caller can save the drafter's state.
    public func run(shouldStop: @escaping @Sendable () -> Bool) {
        let worker = DispatchGroup()
        DispatchQueue(label: "recycle.generation").async(group: worker) { [queue] in queue.work(shouldStop: shouldStop) }
        http.run(shouldStop: shouldStop) { [self] request, exchange in handle(request, exchange) }
        worker.wait()
    }

    private func handle(_ request: HTTPRequest, _ exchange: Exchange) {
        let path = request.path
        if let key = options.apiKey, path != "/health" {
            let given = request.header("authorization") ?? ""
            guard constantTimeEqual(Array(given.utf8), Array(("Bearer " + key).utf8)) else {
                return exchange.respond(APIError(401, "a valid API key is needed (Authorization: Bearer KEY)").response)
            }
        }
        let routes: [String: (method: String, handler: (HTTPRequest, Exchange) -> Void)] = [
            "/health": ("GET", { _, e in e.respond(.json(200, Array(#"{"status":"ok"}"#.utf8))) }),
            "/v1/models": ("GET", { [self] _, e in e.respond(.json(200, Array(models.text.utf8))) }),
            "/v1/chat/completions": ("POST", { [self] r, e in complete(r, e, chat: true) }),
            "/v1/completions": ("POST", { [self] r, e in complete(r, e, chat: false) }),
        ]
        guard let route = routes[String(path)] else { return exchange.respond(APIError(404, "no such endpoint: \(path)").response) }
        guard request.method == route.method else {
            var response = APIError(405, "\(path) takes \(route.method)").response
            response.headers.append(("Allow", route.method))
            return exchange.respond(response)
        }
        route.handler(request, exchange)
    }

    private var models: JSON {
        .object([("object", .string("list")), ("data", .array([.object([
            ("id", .string(options.modelID)), ("object", .string("model")), ("created", .int(started)),
            ("owned_by", .string("recycle \(recycleVersion)")),
        ])]))])
    }

    private func complete(_ request: HTTPRequest, _ exchange: Exchange, chat: Bool) {
        let defaults = CompletionRequest.Defaults(temperature: options.temperature, topP: options.topP,
                                                  maxTokensLimit: options.maxTokensLimit)
        let asked: CompletionRequest
        do { asked = try CompletionRequest(body: request.body, chat: chat, defaults: defaults) } catch {
            return exchange.respond(error.response)
        }
        let tokenizer = queue.model.tokenizer
        let prompt: [Int32]
        switch asked.prompt {
        case let .chat(messages):
            guard let template = queue.model.chatTemplate else { return exchange.respond(APIError(400, "this model has no chat template; use /v1/completions").response) }
            prompt = tokenizer.encode(template.pieces(messages, defaultSystemPrompt: options.defaultSystemPrompt, addGenerationPrompt: true))
        case let .text(text):
            prompt = tokenizer.encode([PromptPiece(text, parsesSpecialTokens: false)])
        }
        guard !prompt.isEmpty else { return exchange.respond(APIError(400, "the prompt is empty", param: "prompt").response) }
        let room = queue.contextLength - prompt.count + 1
        let maxTokens = asked.maxTokens ?? min(options.maxTokens, room)
        guard maxTokens <= room, room >= 1 else {
            return exchange.respond(APIError(400, "the prompt (\(prompt.count) tokens) plus max_tokens \(maxTokens) does not fit the context of \(queue.contextLength) tokens",
                                             param: chat ? "messages" : "prompt").response)
        }
        let id = (chat ? "chatcmpl-" : "cmpl-") + "\(started)-\(requests.add(1, ordering: .relaxed).newValue)"
        let created = Int(Date().timeIntervalSince1970)
        let object = chat ? "chat.completion" : "text_completion"
        // One streamed event: the first of a chat carries the role, the last the finish reason.
        func chunk(_ text: String?, finish: String?, role: Bool = false, usage: JSON? = nil) -> [UInt8] {
            var choice: [(String, JSON)] = [("index", .int(0))]
            if chat {
                let delta: [(String, JSON)] = (role ? [("role", .string("assistant"))] : []) + (text.map { [("content", .string($0))] } ?? [])
                choice.append(("delta", .object(delta)))
            } else {
                choice += [("text", .string(text ?? "")), ("logprobs", .null)]
            }
            choice.append(("finish_reason", finish.map(JSON.string) ?? .null))
            var fields: [(String, JSON)] = [("id", .string(id)), ("object", .string(object + (chat ? ".chunk" : ""))),
                                            ("created", .int(created)), ("model", .string(options.modelID)),
                                            ("choices", .array([.object(choice)]))]
            if let usage { fields.append(("usage", usage)) }
            return Array(JSON.object(fields).text.utf8)
        }

        let job = GenerationJob(
            prompt: prompt, maxTokens: maxTokens, sampler: asked.sampler, stops: asked.stops,
            onText: asked.stream ? { exchange.event(chunk($0, finish: nil)) } : { _ in true },
            isCancelled: { exchange.clientGone })
        guard queue.submit(job) else { return exchange.respond(APIError.busy.response) }
        if asked.stream {
            // The head goes out once the job is queued (a full queue is a 503, not a stream);
            // every token follows as its own event, written by the worker once handed over.
            exchange.beginEvents()
            if chat { exchange.event(chunk("", finish: nil, role: true)) }
        }
        job.handedOver.signal()
        job.done.wait()
        switch job.outcome {
        case let .failure(error):
            if asked.stream {
                exchange.event(error.body)
                exchange.endEvents()
            } else {
                exchange.respond(error.response)
            }
        case let .success(outcome):
            options.log("\(request.method) \(request.path): prompt \(outcome.promptTokens) tokens (\(outcome.reusedTokens) cached), "
                        + "\(outcome.completionTokens) generated, MAT \(fixed(outcome.meanAccepted, 2)), "
                        + (outcome.abandoned ? "stopped: the client went away" : "finish \(outcome.finishReason)"))
            let usage = JSON.object([
                ("prompt_tokens", .int(outcome.promptTokens)), ("completion_tokens", .int(outcome.completionTokens)),
                ("total_tokens", .int(outcome.promptTokens + outcome.completionTokens)),
                ("mean_accepted", .number(outcome.meanAccepted)), ("drafter", .string(queue.drafter.name)),
                ("cached_prompt_tokens", .int(outcome.reusedTokens)),
                ("time_to_first_token_ms", .number(outcome.secondsToFirstToken * 1000)),
            ])
            if asked.stream {
                exchange.event(chunk(nil, finish: outcome.finishReason, usage: usage))
                exchange.event(Array("[DONE]".utf8))
                exchange.endEvents()
                return
            }
            var choice: [(String, JSON)] = [("index", .int(0))]
            if chat {
                choice.append(("message", .object([("role", .string("assistant")), ("content", .string(outcome.text))])))
            } else {
                choice += [("text", .string(outcome.text)), ("logprobs", .null)]
            }
            choice.append(("finish_reason", .string(outcome.finishReason)))
            let body = JSON.object([("id", .string(id)), ("object", .string(object)), ("created", .int(created)),
                                    ("model", .string(options.modelID)), ("choices", .array([.object(choice)])),
                                    ("usage", usage)])
            exchange.respond(.json(200, Array(body.text.utf8)))
        }
    }
}

/// Whether `a` equals `b`, in a time that depends on their lengths only, not on where they
/// first differ (an API key must not leak through response times).
func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    var difference = UInt8(a.count == b.count ? 0 : 1)
    for i in 0..<max(a.count, b.count) {
        difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
    }
    return difference == 0
}
