#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

// The records of a trace file (`recycle generate --trace FILE`): JSON Lines, one record per
// line, told apart by "type". A generation writes a header, one step per verification pass
// and a summary; a chat writes one such group per turn. Steps are numbered from 0 across the
// whole file, so a step number names one pass even in a chat. The writer and every reader
// (`recycle trace`, the tests) share these types, so the format has one definition.
//
// Token ids are the model's; every id comes with its text, so a trace can be drawn without
// the model. A token that is not whole UTF-8 by itself (part of a character) has its bytes
// written as `<0xE2>` (see `TokenText`).

/// A token and its text.
public struct TraceToken: Codable, Sendable, Equatable {
    /// The token's id in the model's vocabulary.
    public var id: Int32
    /// The token's text, or its bytes as `<0xE2>` when they are not whole UTF-8.
    public var text: String

    /// Token `id` with its text.
    public init(id: Int32, text: String) {
        self.id = id
        self.text = text
    }
}

/// How the generation was run, and its prompt: the first record of every generation.
public struct TraceHeader: Codable, Sendable {
    /// The record type, always "header".
    public var type = "header"
    /// The trace format's version.
    public var version = 1
    /// The weights file.
    public var model: String
    /// The drafter's name ("none", "recycle", "pld", "suffix", "hybrid").
    public var drafter: String
    /// The drafter's settings as reports name them (the tree: a template's name or "auto";
    /// k; the start), in order.
    public var settings: [TraceSetting]
    /// "greedy", or "temperature T, top-p P, top-k K, min-p M, seed S".
    public var sampling: String
    /// 0 for `generate`; a chat's turns count up.
    public var turn: Int
    /// The number of this generation's first step.
    public var firstStep: Int
    /// The whole prompt (for a chat turn: the conversation so far).
    public var prompt: [TraceToken]

    /// A header of format version 1.
    public init(model: String, drafter: String, settings: [TraceSetting], sampling: String, turn: Int,
                firstStep: Int, prompt: [TraceToken]) {
        self.model = model
        self.drafter = drafter
        self.settings = settings
        self.sampling = sampling
        self.turn = turn
        self.firstStep = firstStep
        self.prompt = prompt
    }

    enum CodingKeys: String, CodingKey {
        case type, version, model, drafter, settings, sampling, turn, prompt
        case firstStep = "first_step"
    }
}

/// One drafter setting as reports name it ("k", "8").
public struct TraceSetting: Codable, Sendable, Equatable {
    /// The setting's name ("tree", "k", "start").
    public var name: String
    /// Its value, as text.
    public var value: String

    /// Setting `name` at `value`.
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// Where a drafted node's guess came from. Every field is optional: a node proposed by two
/// sources at once (a hybrid tree merges them) has both.
public struct TraceSource: Codable, Sendable, Equatable {
    /// Recycled: the candidate of rank `rank` in the matrix row of token `rowOf`.
    public var rowOf: Int32?
    /// Recycled: the candidate's rank in that row (0 is the best).
    public var rank: Int?
    /// Copied: the token at this position of the text searched (pld: the context; suffix:
    /// the suffix index of everything this process has seen), after a match of
    /// `matchLength` tokens.
    public var copiedFrom: Int?
    /// Copied: the length of the match, in tokens.
    public var matchLength: Int?

    /// A source with the given halves; nil fields are left out of the JSON.
    public init(rowOf: Int32? = nil, rank: Int? = nil, copiedFrom: Int? = nil, matchLength: Int? = nil) {
        self.rowOf = rowOf
        self.rank = rank
        self.copiedFrom = copiedFrom
        self.matchLength = matchLength
    }

    enum CodingKeys: String, CodingKey {
        case rank
        case rowOf = "row_of"
        case copiedFrom = "copied_from"
        case matchLength = "match_length"
    }
}

/// One node of a verified tree. Node 0 is the root (the last token chosen, not yet in the
/// KV cache); its parent is -1.
public struct TraceNode: Codable, Sendable, Equatable {
    /// The node's index in the tree, equal to its position in `TraceStep.nodes`.
    public var id: Int
    /// The parent's id, smaller than `id`; -1 for the root.
    public var parent: Int
    /// The drafted token's id.
    public var token: Int32
    /// The drafted token's text (see `TraceToken.text`).
    public var text: String
    /// Distance from the root (the root's is 0).
    public var depth: Int
    /// Nil for the root, and for a drafter that does not say.
    public var source: TraceSource?
    /// The ranks from the root down to this node, when every node above it was recycled
    /// (a template's path, as in "2.2.2").
    public var rankPath: [Int]?

    /// A node record with the given fields.
    public init(id: Int, parent: Int, token: Int32, text: String, depth: Int, source: TraceSource?, rankPath: [Int]?) {
        self.id = id
        self.parent = parent
        self.token = token
        self.text = text
        self.depth = depth
        self.source = source
        self.rankPath = rankPath
    }

    enum CodingKeys: String, CodingKey {
        case id, parent, token, text, depth, source
        case rankPath = "rank_path"
    }
}

/// The model's own next token after a node on the walk down the tree.
public struct TraceChoice: Codable, Sendable, Equatable {
    /// The id of the node the model chose after.
    public var node: Int
    /// The token the model chose there.
    public var token: Int32
    /// The chosen token's text (see `TraceToken.text`).
    public var text: String

    /// The model's choice of `token` after node `node`.
    public init(node: Int, token: Int32, text: String) {
        self.node = node
        self.token = token
        self.text = text
    }
}

/// A matrix row the pass rewrote: as it was before the pass, and as the pass left it.
public struct TraceRow: Codable, Sendable, Equatable {
    /// The token whose row it is.
    public var token: TraceToken
    /// The row before the pass, best first.
    public var before: [TraceToken]
    /// The row as the pass left it, best first.
    public var after: [TraceToken]
    /// How many nodes of the tree wrote it (the same token at several nodes): more than one
    /// means `after` is what the last of them left.
    public var writes: Int

    /// A rewrite of `token`'s row from `before` to `after` by `writes` nodes.
    public init(token: TraceToken, before: [TraceToken], after: [TraceToken], writes: Int) {
        self.token = token
        self.before = before
        self.after = after
        self.writes = writes
    }
}

/// How an adaptive drafter chose the size of the tree it drafted.
public struct TraceSizing: Codable, Sendable, Equatable {
    /// Recycler: the recent hit rate of each rank (how often the token that followed was the
    /// rank-r candidate of its predecessor's row).
    public var hitRates: [Double]?
    /// The estimated probability that each candidate node is accepted, most likely first.
    public var probabilities: [Double]
    /// The cost curve in use: milliseconds of a pass of 1, 2, ... nodes at this context
    /// (as far as sizes are offered).
    public var costMs: [Double]
    /// Drafted nodes besides the root.
    public var chosen: Int
    /// Tokens one pass of the chosen tree is expected to produce (1 for plain decoding).
    public var expectedTokens: Double
    /// Expected tokens per second of the chosen tree against plain decoding's.
    public var expectedSpeedup: Double

    /// A sizing record with the given fields (the writer rounds them).
    public init(hitRates: [Double]?, probabilities: [Double], costMs: [Double], chosen: Int,
                expectedTokens: Double, expectedSpeedup: Double) {
        self.hitRates = hitRates
        self.probabilities = probabilities
        self.costMs = costMs
        self.chosen = chosen
        self.expectedTokens = expectedTokens
        self.expectedSpeedup = expectedSpeedup
    }

    enum CodingKeys: String, CodingKey {
        case probabilities, chosen
        case hitRates = "hit_rates"
        case costMs = "cost_ms"
        case expectedTokens = "expected_tokens"
        case expectedSpeedup = "expected_speedup"
    }
}

/// One verification pass.
public struct TraceStep: Codable, Sendable {
    /// The record type, always "step".
    public var type = "step"
    /// The pass's number, counted from 0 across the whole file.
    public var step: Int
    /// Committed tokens (in the KV cache) before the pass: the prompt but its last token,
    /// plus everything earlier steps produced but their last token, which is this root.
    public var context: Int
    /// The verified tree, root first, parents before children.
    public var nodes: [TraceNode]
    /// For every node on the walk, root first: the model's own next token there.
    public var choices: [TraceChoice]
    /// Node ids of the accepted path, root first.
    public var accepted: [Int]
    /// The tokens the step emitted: the accepted drafts, then the model's own next token
    /// (cut short where the generation stopped).
    public var produced: [TraceToken]
    /// The matrix rows this pass rewrote (drafters that keep a matrix).
    public var rows: [TraceRow]?
    /// How the tree's size was chosen (adaptive drafters).
    public var sizing: TraceSizing?
    /// Milliseconds to draft the tree, and of the verification pass.
    public var draftMs: Double
    /// Milliseconds of the verification pass.
    public var passMs: Double

    /// A step record with the given fields; `TraceStep.init(_:number:tokenizer:)` builds one
    /// from a `StepReport`.
    public init(step: Int, context: Int, nodes: [TraceNode], choices: [TraceChoice], accepted: [Int],
                produced: [TraceToken], rows: [TraceRow]?, sizing: TraceSizing?, draftMs: Double, passMs: Double) {
        self.step = step
        self.context = context
        self.nodes = nodes
        self.choices = choices
        self.accepted = accepted
        self.produced = produced
        self.rows = rows
        self.sizing = sizing
        self.draftMs = draftMs
        self.passMs = passMs
    }

    enum CodingKeys: String, CodingKey {
        case type, step, context, nodes, choices, accepted, produced, rows, sizing
        case draftMs = "draft_ms"
        case passMs = "pass_ms"
    }
}

/// The last record of a generation.
public struct TraceSummary: Codable, Sendable {
    /// The record type, always "summary".
    public var type = "summary"
    /// Verification passes after the prefill.
    public var steps: Int
    /// Tokens generated, a final stop token included.
    public var tokens: Int
    /// The generated text as shown (stop tokens and stop strings left out).
    public var text: String
    /// Why generation ended, as a `StopReason` raw value ("eos", "max_tokens", ...).
    public var stopReason: String
    /// Mean tokens produced per pass.
    public var meanAccepted: Double
    /// Prompt tokens whose keys and values an earlier turn had already computed.
    public var reusedTokens: Int
    /// Milliseconds of the prefill.
    public var prefillMs: Double
    /// Milliseconds from the end of the prefill to the last token.
    public var decodeMs: Double
    /// Generated tokens per second of decoding.
    public var tokensPerSecond: Double

    /// A summary record with the given fields.
    public init(steps: Int, tokens: Int, text: String, stopReason: String, meanAccepted: Double, reusedTokens: Int,
                prefillMs: Double, decodeMs: Double, tokensPerSecond: Double) {
        self.steps = steps
        self.tokens = tokens
        self.text = text
        self.stopReason = stopReason
        self.meanAccepted = meanAccepted
        self.reusedTokens = reusedTokens
        self.prefillMs = prefillMs
        self.decodeMs = decodeMs
        self.tokensPerSecond = tokensPerSecond
    }

    enum CodingKeys: String, CodingKey {
        case type, steps, tokens, text
        case stopReason = "stop_reason"
        case meanAccepted = "mean_accepted"
        case reusedTokens = "reused_tokens"
        case prefillMs = "prefill_ms"
        case decodeMs = "decode_ms"
        case tokensPerSecond = "tokens_per_second"
    }
}

/// A whole trace file, read back.
public struct Trace: Sendable {
    /// One generation: its header, steps and summary (nil if the file ends before it).
    public struct Generation: Sendable {
        /// The generation's first record.
        public var header: TraceHeader
        /// Its step records, in file order.
        public var steps: [TraceStep] = []
        /// Its last record; nil when the file ends before it (a run cut short).
        public var summary: TraceSummary?
    }

    /// The file's generations, in order (one per chat turn).
    public var generations: [Generation] = []

    /// Every step of the file, in order.
    public var steps: [TraceStep] { generations.flatMap(\.steps) }

    /// Why a trace was refused: a bad line (with its number) or a step that is not a tree.
    public struct ReadError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Parses JSON Lines as the writer writes them; a bad line is an error naming its number.
    public init(jsonLines bytes: [UInt8], source: String) throws(ReadError) {
        let decoder = JSONDecoder()
        for (n, line) in bytes.split(separator: UInt8(ascii: "\n")).enumerated() {
            let data = Data(line)
            func fail(_ why: String) -> ReadError { ReadError(description: "\(source), line \(n + 1): \(why)") }
            guard let kind = try? decoder.decode(Kind.self, from: data) else { throw fail("not a trace record") }
            do {
                switch kind.type {
                case "header": generations.append(Generation(header: try decoder.decode(TraceHeader.self, from: data)))
                case "step":
                    guard !generations.isEmpty else { throw fail("a step before any header") }
                    generations[generations.count - 1].steps.append(try decoder.decode(TraceStep.self, from: data))
                case "summary":
                    guard !generations.isEmpty else { throw fail("a summary before any header") }
                    generations[generations.count - 1].summary = try decoder.decode(TraceSummary.self, from: data)
                default: throw fail("unknown record type \"\(kind.type)\"")
                }
            } catch let error as ReadError {
                throw error
            } catch {
                throw fail("a \(kind.type) record with missing or wrong fields")
            }
        }
        guard !generations.isEmpty else { throw ReadError(description: "\(source) holds no trace (no header record)") }
    }

    private struct Kind: Decodable { var type: String }
}
