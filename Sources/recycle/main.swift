#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import RecycleArguments
import RecycleDecoding
import RecycleTools

// recycle: run a .rcyl model from the command line.

let usage = """
    recycle: a pure-Swift CPU runtime for Llama-family models.

    Usage:
      recycle generate [options]      generate text from a prompt
      recycle chat [options]          an interactive conversation (KV cache kept between turns)
      recycle serve [options]         an OpenAI-compatible HTTP server (see "serve options")
      recycle inspect PATH [--verify] show a weights file's header, config and tensors
      recycle inspect MATRIX [--token ID,...] [--text TEXT] [-m MODEL]
                                      show a saved Token Recycling matrix (a --matrix file, or
                                      matrix-k8.bin in the state cache) and its rows for tokens
      recycle trace FILE [options]    draw a trace: a step's tree (text, dot, svg) or an HTML page
      recycle --help                  this text
      recycle --version               the version

    generate options:
      -p, --prompt TEXT       the prompt
      -f, --file FILE         the prompt from a file (- for standard input)
          --chat              wrap the prompt in the model's chat template (ChatML); the
                              prompt is plain text, marker text such as <|im_end|> included
          --special           raw prompts: let marker text such as <|im_end|> become control
                              tokens (default: plain text)
      -n, --max-tokens N      tokens to generate, at most (default 256; chat: 512 per turn)
          --json              print one JSON object instead of streaming text
          --top-logits K      with --json: the top-K candidates of every generated step

    generate and chat options:
      -m, --model PATH        weights file (.rcyl); default: $RECYCLE_MODEL, else
                              models/SmolLM2-135M-Instruct-Q4_1.rcyl (made by weights-tools/fetch-default)
          --system TEXT       system message (default: the model's own; "none" for none)
      -c, --context N         KV cache positions (generate: prompt + max tokens; chat: 4096)
      -t, --threads N         worker threads (default: all cores)
          --temp T            sampling temperature; 0 = greedy (default 0)
          --top-p P           nucleus sampling mass, with --temp > 0 (default 0.95)
          --top-k K           sample from the K most likely tokens only (default 0: all)
          --min-p P           ... and from those at least P times as likely as the best
                              (default 0: all)
          --stop STRING       end the generation where STRING appears (not printed);
                              repeatable
          --seed S            random seed for sampling (default: from the clock, printed)
          --drafter NAME      speculative drafter (the output is always that of none, greedy or
                              sampled with the same seed; drafters change only the speed):
                              suffix (default): the continuation of the longest earlier match
                              hybrid: a suffix-match spine plus recycled branches
                              recycle: Token Recycling (the paper's matrix of top-k successors)
                              pld: prompt lookup (n-gram match, scanned every step)
                              none: plain decoding
          --tree NAME|FILE    recycle's draft tree: auto (sized from measured verification cost
                              and acceptance), a built-in name (2.2.2, 2.2.2-l2, 2.2.2-l1, chain16,
                              spine4, spine8) or a JSON list of rank paths (default auto)
          --start hot|cold    recycle, hybrid: keep the matrix across prompts (hot, default) or
                              reset it
          --matrix FILE       recycle, hybrid: load the matrix from FILE if it exists, save it at
                              exit (instead of the state cache; a bad FILE is an error)
          --no-cache          neither read nor write the state cache (below)
      -k N                    recycle, hybrid: candidates per token in the matrix (default 8)
          --trace FILE        write every verification pass to FILE (JSON Lines: the tree, where
                              each guess came from, what the model chose, the rows rewritten);
                              draw it with 'recycle trace FILE'
          --show-steps        a line per pass on stderr while the text streams

    serve options (and the model, sampling defaults and drafter options above):
          --host ADDR         IPv4 address to listen on (default 127.0.0.1: this machine only)
          --port N            TCP port (default 8080; 0: any free one, printed)
          --api-key KEY       require "Authorization: Bearer KEY" (all but /health)
          --queue N           requests that may wait while one generates (default 8); more
                              are answered 503 with Retry-After
      -n, --max-tokens N      tokens for a request without max_tokens (default 512)
          --timeout S         seconds a client may idle, or take to send a request or to
                              read a response (default 30)
      -c, --context N         KV cache positions, shared by all requests (default 4096)
    Endpoints: POST /v1/chat/completions, POST /v1/completions (both with "stream": true for
    server-sent events), GET /v1/models, GET /health. One generation at a time; the KV cache
    and the drafter's state carry over between requests; SIGINT/SIGTERM stop the server and
    save the drafter's state.

    Text streams to stdout; timings go to stderr. Ctrl-C or SIGTERM stops generation and
    keeps what was generated (a second one exits at once); at the chat prompt it ends the chat.
    An output that cannot be written (closed, full, broken pipe) is an error, exit status 1,
    after the drafter's state is saved.

    State cache: what a drafter learns (Token Recycling's matrix; the measured cost of a
    verification pass, per CPU and thread count) is loaded at start and saved at exit, so the
    next run starts where this one stopped. It lives in $XDG_CACHE_HOME/recycle, else
    ~/.cache/recycle, one directory per model file. A bad cache file is ignored with a
    warning; a second process at once uses it without saving. --no-cache turns it off;
    deleting the directory is always safe.

    trace options:
          --step N            the step to draw, by its number in the file (default: the first
                              that accepted a drafted token); html opens at it
          --format F          text (default; the tree in the terminal), dot (Graphviz), svg,
                              or html (one self-contained page to step through every pass)
      -o, --output OUT        write to OUT instead of stdout
    """

func run(_ args: [String]) throws {
    guard let command = args.first else {
        try Output.write(usage + "\n")
        return
    }
    switch command {
    case "-h", "--help", "help":
        try Output.write(usage + "\n")
    case "--version", "-V":
        try Output.write("recycle \(recycleVersion)\n")
    case "generate":
        try GenerateCommand(Arguments(args.dropFirst(), options: GenerateCommand.options)).run()
    case "chat":
        try ChatCommand(Arguments(args.dropFirst(), options: ChatCommand.options)).run()
    case "serve":
        try ServeCommand(Arguments(args.dropFirst(), options: ServeCommand.options)).run()
    case "inspect":
        try InspectCommand(Arguments(args.dropFirst(), options: InspectCommand.options)).run()
    case "trace":
        try TraceCommand(Arguments(args.dropFirst(), options: TraceCommand.options)).run()
    default:
        throw UsageError("unknown command \"\(command)\"")
    }
}

Output.prepare()
do {
    try run(Array(CommandLine.arguments.dropFirst()))
} catch let error as UsageError {
    Output.log("recycle: \(error)\nRun 'recycle --help' for usage.")
    exit(2)
} catch {
    Output.log("recycle: \(error)")
    exit(1)
}
