import ArgumentParser
import Engine

@main
struct Singan: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "singan",
        abstract: "Train SinGAN models and apply their tasks to images.",
        version: "0.1.0",
        subcommands: [
            InfoCommand.self, TrainCommand.self, SampleCommand.self,
            HarmonizeCommand.self, EditCommand.self, PaintCommand.self, SuperResCommand.self, AnimateCommand.self,
            PatchSampleCommand.self, RetargetCommand.self,
            TasksCommand.self, RunCommand.self, DaemonCommand.self, StatusCommand.self,
            BenchCommand.self,
        ])

    /// Sets the allocation policy (`Memory.retainFreedBlocks`) before any thread exists, then
    /// runs the command: glibc's `mallopt` must not run while other threads allocate.
    static func main() {
        Memory.retainFreedBlocks()
        main(nil)
    }
}
