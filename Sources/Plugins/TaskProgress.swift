import Foundation
import SinGAN

/// One progress report of a task run: what the command line prints and the daemon journals.
public struct TaskProgress: Sendable {
    /// How much of the run is done, in 0...1.
    public var fraction: Double
    /// What the run is doing, e.g. "upsampling step 2/5".
    public var note: String?
    /// The trainer's full report, when the run is training a model (sent every iteration).
    public var training: TrainingProgress?

    public init(fraction: Double, note: String? = nil, training: TrainingProgress? = nil) {
        self.fraction = fraction
        self.note = note
        self.training = training
    }

    /// A training report, with the fraction of the whole run and a short note.
    public init(training p: TrainingProgress) {
        let done = Double(p.scale) + Double(p.iteration) / Double(p.iterations)
        self.init(fraction: done / Double(p.scaleCount),
                  note: String(format: "scale %d/%d, iteration %d/%d, %.0f s left",
                               p.scale + 1, p.scaleCount, p.iteration, p.iterations, p.totalSecondsLeft),
                  training: p)
    }
}
