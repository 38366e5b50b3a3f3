import Foundation

/// Locks on the models being trained, one per cache key (`ModelStore.key`), shared by a fleet's
/// daemons (`PostgresJournal`), so that one image is trained once across the fleet: the holder
/// trains, the others wait and then take its model from the shared cache.
///
/// A lock lasts the journal's lease and is renewed with the daemon's jobs; the lock of a daemon
/// that died is taken over once it expired, and the new holder's training resumes from the
/// checkpoint the dead one left in the shared cache.
public protocol ModelLocks: Sendable {
    /// Takes the lock of `key` (again, if this daemon holds it: the locks count), or takes over
    /// one whose lease expired; false while another daemon holds it.
    func lockModel(_ key: String) throws -> Bool
    /// Gives up one hold of `key`; the lock is released when none is left.
    func unlockModel(_ key: String) throws
}
