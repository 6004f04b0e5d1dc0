import Foundation
import RecycleArguments

/// Min, median and max of repeated measurements: the machine is shared and noisy, so
/// reports quote the median and show the spread.
struct Stats: Encodable {
    let min: Double
    let median: Double
    let max: Double

    init(_ samples: [Double]) {
        let s = samples.sorted()
        min = s.first!
        max = s.last!
        median = s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}

/// Seconds taken by `body`.
func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    let d = start.duration(to: .now)
    return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
}

/// Runs `body` again and again for at least `duration` seconds (at least once), before a
/// measurement. One warm-up run is not enough: after even a second of idling, a core of the
/// Sapphire Rapids VM ran a 1-thread SmolLM2 pass in 8-10 ms and took about 0.2 s of steady
/// work to reach its 4 ms (the host lowers the idle core's clock), so a single warm-up left
/// the first N's runs, the denominator of every cost ratio, twice too slow.
func warmUp(for duration: Double = 0.5, _ body: () throws -> Void) rethrows {
    let start = ContinuousClock.now
    repeat { try body() } while start.duration(to: .now) < .seconds(duration)
}

/// CPU time this process has used, all threads together. On a shared machine it moves
/// much less than wall time when other work competes for the cores, so single-thread
/// comparisons quote it next to wall time.
func processCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

/// What every report states about where it ran.
struct Machine: Encodable {
    let cpu: String
    let cores: Int
    let threads: Int
    let build: String

    init(threads: Int) {
        self.threads = threads
        cores = ProcessInfo.processInfo.activeProcessorCount
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = info.split(separator: "\n").first { $0.hasPrefix("model name") }
        cpu = model.flatMap { $0.split(separator: ":", maxSplits: 1).last }.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
        #if DEBUG
        build = "debug (not representative)"
        #else
        build = "swift build -c release (-O, -target-cpu from Package.swift: native unless RECYCLE_TARGET_CPU was set)"
        #endif
    }

    var markdown: String { "CPU: \(cpu), \(cores) cores; \(threads) thread(s); build: \(build)" }
}

/// Prints `value` as one line of JSON.
func printJSON<T: Encodable>(_ value: T) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.withoutEscapingSlashes]
    print(String(decoding: try! encoder.encode(value), as: UTF8.self))
}

/// A Markdown table; every cell already formatted.
func printTable(_ header: [String], _ rows: [[String]]) {
    print("| " + header.joined(separator: " | ") + " |")
    print("|" + header.map { _ in "---:|" }.joined())
    for row in rows { print("| " + row.joined(separator: " | ") + " |") }
}

func format(_ v: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", v) }
