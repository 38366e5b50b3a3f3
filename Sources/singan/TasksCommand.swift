import ArgumentParser
import Plugins

/// `singan tasks`: every task plugin with its inputs and parameters.
struct TasksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tasks",
        abstract: "List the task plugins pipelines can use, with their parameters.")

    func run() {
        print(PluginRegistry.standard.listing(), terminator: "")
    }
}
