extension Module {
    /// Turns gradient tracking of all parameters on or off, e.g. to freeze the critic while
    /// the generator trains (its weight gradients would be computed and discarded otherwise).
    public func setRequiresGrad(_ enabled: Bool) {
        for p in parameters { p.requiresGrad = enabled }
    }
}
