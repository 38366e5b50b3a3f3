import Engine

/// A copy of an Adam optimiser's state (moments and step count), for checkpoints.
struct AdamState {
    var firstMoments: [[Float]]
    var secondMoments: [[Float]]
    var stepCount: Int

    init(firstMoments: [[Float]], secondMoments: [[Float]], stepCount: Int) {
        self.firstMoments = firstMoments
        self.secondMoments = secondMoments
        self.stepCount = stepCount
    }

    init(_ adam: Adam) {
        self.init(firstMoments: adam.firstMoments, secondMoments: adam.secondMoments, stepCount: adam.stepCount)
    }

    /// Puts this state into `adam` (same parameters).
    func apply(to adam: Adam) {
        adam.restore(stepCount: stepCount, firstMoments: firstMoments, secondMoments: secondMoments)
    }
}
