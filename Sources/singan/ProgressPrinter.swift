import Foundation
import Plugins
import SinGAN

/// Shows a command's progress on stderr: a live line rewritten in place on a terminal (at most 5
/// times a second), otherwise a plain line every `logInterval` seconds. Training shows the
/// trainer's full report (speed, time left, losses, noise) and a line at the start and end of
/// every scale; other work shows "TASK: NN% NOTE".
/// `@unchecked`: a run reports progress from the one thread that runs it, the only one to touch
/// the printer's state.
final class ProgressPrinter: @unchecked Sendable {
    private let task: String
    private let logInterval: Double
    private let isTerminal = isatty(STDERR_FILENO) == 1
    private var lastPrint = Date.distantPast
    private var lastScale = -1
    /// What the live (unfinished) terminal line shows, if one is showing.
    private var live: Live?
    private enum Live { case training, task }

    init(task: String, logInterval: Double = 5) {
        self.task = task
        self.logInterval = logInterval
    }

    func show(_ progress: TaskProgress) {
        if let training = progress.training { show(training) } else { showTask(progress) }
    }

    func show(_ p: TrainingProgress) {
        let now = Date()
        let scaleDone = p.iteration == p.iterations
        let interval = isTerminal ? 0.2 : logInterval
        guard scaleDone || p.scale != lastScale || now.timeIntervalSince(lastPrint) >= interval else { return }
        lastPrint = now
        lastScale = p.scale
        let line = "scale \(p.scale + 1)/\(p.scaleCount)  iter \(p.iteration)/\(p.iterations)  "
            + "\(String(format: "%.2f", p.iterationsPerSecond)) it/s  "
            + "ETA scale \(formatDuration(p.scaleSecondsLeft)), total \(formatDuration(p.totalSecondsLeft))  "
            + "D \(String(format: "%.4f", p.losses.critic))  G \(String(format: "%.4f", p.losses.generator))  "
            + "rec \(String(format: "%.5f", p.losses.reconstruction))  " + noiseText(p)
        if isTerminal {
            write("\r\u{1B}[K\(line)\(scaleDone ? "\n" : "")")
            live = scaleDone ? nil : .training
        } else {
            write("\(line)\n")
        }
    }

    private func showTask(_ p: TaskProgress) {
        let now = Date()
        guard now.timeIntervalSince(lastPrint) > (isTerminal ? 0.2 : logInterval) || p.fraction >= 1 else { return }
        lastPrint = now
        let line = String(format: "%@: %3.0f%% %@", task, p.fraction * 100, p.note ?? "")
        if isTerminal {
            write("\r\u{1B}[K\(line)")
            live = .task
        } else {
            write("\(line)\n")
        }
    }

    /// "sigma 0.0123 (1.6x floor)": the scale's noise amplitude beside the lowest it can be.
    private func noiseText(_ p: TrainingProgress) -> String {
        let sigma = "sigma \(String(format: "%.4f", p.noiseAmplitude))"
        guard let floor = p.noiseFloor, floor > 0 else { return sigma }
        return sigma + " (\(String(format: "%.1f", p.noiseAmplitude / floor))x floor)"
    }

    /// Ends the progress once the work succeeded: a live training line stays (its line ends), a
    /// live task line is erased.
    func finish() {
        switch live {
        case .training: write("\n")
        case .task: Self.clearLine()
        case nil: break
        }
        live = nil
    }

    /// Erases a live line, before an error message.
    static func clearLine() {
        if isatty(STDERR_FILENO) == 1 { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}

/// 75 -> "1m15s", 3700 -> "1h01m", 9.4 -> "9s".
func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite else { return "?" }
    let s = Int(seconds.rounded())
    if s >= 3600 { return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) }
    if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
    return "\(s)s"
}
