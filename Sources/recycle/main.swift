import Foundation
import RecycleDecoding

// recycle: run a .rcyl model from the command line.

let usage = """
    recycle: a pure-Swift CPU runtime for Llama-family models.

    Usage:
      recycle generate [options]      generate text from a prompt
      recycle inspect PATH [--verify] show a weights file's header, config and tensors
      recycle --help                  this text

    generate options:
      -m, --model PATH        weights file (.rcyl); default: $RECYCLE_MODEL, else
                              models/SmolLM2-135M-Instruct-Q4_1.rcyl (made by weights-tools/fetch-default)
      -p, --prompt TEXT       the prompt (required)
          --chat              wrap the prompt in the model's chat template (ChatML)
          --system TEXT       system message for --chat (default: the model's own; "none" for none)
      -n, --max-tokens N      tokens to generate, at most (default 256)
      -c, --context N         KV cache positions (default: min(model context, 4096))
      -t, --threads N         worker threads (default: all cores)
          --temp T            sampling temperature; 0 = greedy (default 0)
          --top-p P           nucleus sampling mass, with --temp > 0 (default 0.95)
          --seed S            random seed for sampling (default: from the clock, printed)
          --json              print one JSON object instead of streaming text
          --top-logits K      with --json: the top-K candidates of every generated step

    Text streams to stdout; timings go to stderr. Ctrl-C stops generation and keeps
    what was generated.
    """

func run(_ args: [String]) throws(CLIError) {
    guard let command = args.first else {
        print(usage)
        return
    }
    switch command {
    case "-h", "--help", "help":
        print(usage)
    case "generate":
        try GenerateCommand(Arguments(args.dropFirst(), options: GenerateCommand.options)).run()
    case "inspect":
        try InspectCommand(Arguments(args.dropFirst(), options: InspectCommand.options)).run()
    default:
        throw .usage("unknown command \"\(command)\"")
    }
}

do {
    try run(Array(CommandLine.arguments.dropFirst()))
} catch {
    FileHandle.standardError.write(Data("recycle: \(error)\n".utf8))
    exit(error.isUsage ? 2 : 1)
}

extension CLIError {
    var isUsage: Bool { if case .usage = self { true } else { false } }
}
