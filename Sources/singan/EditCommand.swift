import ArgumentParser
import Plugins

/// `singan edit MODEL --reference IMG --mask IMG --scale K -o OUT [--unmasked OUT2]`.
struct EditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edit",
        abstract: "Make a rough edit of a model's training image look natural.",
        discussion: """
            REFERENCE is the training image after a naive edit (e.g. a copied region); MASK is \
            white where it was edited. Both are resized to the training image if their size \
            differs. The edit is injected at scale K; OUT keeps the result inside the mask dilated \
            by 20 px and blurred, the training image elsewhere; --unmasked writes the result everywhere.
            """)

    @OptionGroup var options: MaskedInjectionOptions

    @Option(help: "Also write the unmasked result here.")
    var unmasked: String?

    func validate() throws {
        if let unmasked { try TaskInvocation.checkOutput(unmasked, option: "--unmasked", allowed: TaskInvocation.imageExtensions) }
    }

    func run() throws {
        try options.invocation(of: EditPlugin.name).run { $0.label == "unmasked" ? unmasked : options.output }
    }
}
