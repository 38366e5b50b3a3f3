import Foundation
import Logging

/// Keeps a fleet daemon's leases: every third of the lease it renews the leases of the jobs it
/// holds (and its heartbeat), so a lease outlives two missed renewals, and it takes over the jobs
/// whose lease expired elsewhere (a daemon killed, or cut off from the database).
///
/// Jobs whose lease was lost are handed to `lost` (the daemon cancels them; their writes fail
/// anyway). When renewing has failed for a whole lease (the database unreachable), the jobs
/// held are handed to `lost` too: another daemon may have taken them over by now, and if none
/// did, the cancelled job is re-queued once the database is back.
/// `@unchecked`: `lastRenewal` is touched only on the timer's serial queue.
final class LeaseKeeper: @unchecked Sendable {
    private let journal: any SharedJournal
    private let logger: Logger
    private let lost: @Sendable (Set<String>, _ why: String) -> Void
    private let expired: @Sendable (JobRecord) -> Void
    private let queue: DispatchQueue
    private let timer: DispatchSourceTimer
    private var lastRenewal = Date()

    /// Starts renewing at once. `expired` recovers one job taken over (held by this daemon now).
    init(journal: any SharedJournal, logger: Logger, lost: @escaping @Sendable (Set<String>, _ why: String) -> Void,
         expired: @escaping @Sendable (JobRecord) -> Void) {
        self.journal = journal
        self.logger = logger
        self.lost = lost
        self.expired = expired
        queue = DispatchQueue(label: "singan.daemon.leases")
        timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now(), repeating: journal.lease / 3)
        timer.setEventHandler { [weak self] in self?.tick() }
        timer.resume()
    }

    /// Stops renewing (the daemon stops; jobs still held expire and are taken over elsewhere), and
    /// waits for a renewal under way, so that none writes the heartbeat after the daemon left.
    func cancel() {
        timer.cancel()
        queue.sync {}
    }

    private func tick() {
        do {
            let gone = try journal.renewLeases()
            lastRenewal = Date()
            if !gone.isEmpty { lost(gone, "taken over by another daemon after its lease expired") }
            for job in try journal.takeOverExpired() {
                logger.warning("job.taken_over", metadata: ["job": "\(job.id)", "input": "\(job.input)",
                                                            "attempts": "\(job.attempts)"])
                expired(job)
            }
        } catch {
            logger.error("lease.renew_failed", metadata: ["error": "\(error)"])
            let silent = Date().timeIntervalSince(lastRenewal)
            if silent > journal.lease { lost(Set(journal.heldJobs().keys), "leases not renewed for \(Int(silent)) s") }
        }
    }
}
