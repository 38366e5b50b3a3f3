import ArgumentParser
import Plugins

/// `singan harmonize MODEL --reference IMG --mask IMG --scale K -o OUT`.
struct HarmonizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "harmonize",
        abstract: "Blend a naively pasted object into a model's training image.",
        discussion: """
            REFERENCE is the training image with an object pasted into it; MASK is white where the \
            object is. Both are resized to the training image if their size differs. The reference \
            is injected at scale K (1 = coarsest that can be injected, N = finest); the result is \
            kept inside the mask dilated by 7 px and blurred, the training image elsewhere.
            """)

    @OptionGroup var options: MaskedInjectionOptions

    func run() throws {
        try options.invocation(of: HarmonizePlugin.name).run { _ in options.output }
    }
}
