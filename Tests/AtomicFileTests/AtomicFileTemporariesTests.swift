@testable import AtomicFile
import Foundation
import XCTest

/// The names of `AtomicFile.write`'s temporaries, and the removal of stale ones.
final class AtomicFileTemporariesTests: XCTestCase {
    func testTheWritersOwnTemporaryNamesMatchAndUsersFilesDoNot() {
        let fresh = AtomicFile.temporaryName(of: "model.singan")
        XCTAssertTrue(AtomicFile.isTemporary(fresh), fresh)
        XCTAssertTrue(AtomicFile.isTemporary(fresh, of: "model.singan"), fresh)
        XCTAssertFalse(AtomicFile.isTemporary(fresh, of: "model"), "another destination's name")
        XCTAssertTrue(AtomicFile.isTemporary(".a.b.c.png.0F3A9C1B.tmp", of: "a.b.c.png"))
        for name in ["model.singan.0F3A9C1B.tmp", ".model.singan.0f3a9c1b.tmp", ".model.singan.0F3A9C1.tmp",
                     ".model.singan.0F3A9C1BB.tmp", ".model.singan.0F3A9C1G.tmp", ".model.singan.tmp",
                     ".0F3A9C1B.tmp", "..0F3A9C1B.tmp", ".model.singan.0F3A9C1B.tmp~", ".notes.tmp"] {
            XCTAssertFalse(AtomicFile.isTemporary(name), name)
        }
    }

    func testRemoveTemporariesRemovesOnlyThoseOfTheNamedFile() throws {
        let folder = try temporaryFolder(self)
        let files = [".m.singan.0F3A9C1B.tmp", ".m.singan.12345678.tmp", "m.singan", ".other.tmp",
                     ".other.singan.0F3A9C1B.tmp", ".m.singan.draft.tmp", ".m.singan.0f3a9c1b.tmp"]
        for name in files { XCTAssertTrue(FileManager.default.createFile(atPath: folder + "/" + name, contents: Data("x".utf8))) }
        try FileManager.default.createDirectory(atPath: folder + "/.m.singan.AAAAAAAA.tmp", withIntermediateDirectories: false)

        let removed = AtomicFile.removeTemporaries(of: folder + "/m.singan")
        XCTAssertEqual(removed.map { ($0 as NSString).lastPathComponent }.sorted(), [".m.singan.0F3A9C1B.tmp", ".m.singan.12345678.tmp"])
        XCTAssertEqual(try folderContents(folder), [".m.singan.0f3a9c1b.tmp", ".m.singan.AAAAAAAA.tmp", ".m.singan.draft.tmp",
                                                    ".other.singan.0F3A9C1B.tmp", ".other.tmp", "m.singan"],
                       "other files, and folders, are kept")
    }

    func testAWriteLeavesNoTemporary() throws {
        let folder = try temporaryFolder(self)
        try AtomicFile.write(Data("x".utf8), to: folder + "/out.txt")
        XCTAssertEqual(try folderContents(folder), ["out.txt"])
        XCTAssertEqual(AtomicFile.removeTemporaries(of: folder + "/out.txt"), [])
    }
}
