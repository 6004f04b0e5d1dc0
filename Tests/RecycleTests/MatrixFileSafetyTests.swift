import Foundation
import RecycleDecoding
import XCTest

/// How the matrix file behaves around the file system: paths, symlinks, leftovers of a killed
/// save, and two processes sharing one file.
final class MatrixFileSafetyTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("matrix-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    let matrix: [Int32] = (0..<40).map { Int32($0 % 10) }

    func testTrailingSlashIsRefused() throws {
        for path in [directory + "/m.bin/", ""] {
            XCTAssertThrowsError(try MatrixFile.save(matrix, k: 4, vocabularySize: 10, path: path)) {
                XCTAssertTrue("\($0)".contains("must name a file"), "\($0)")
            }
            XCTAssertThrowsError(try MatrixFileLock(path: path))
        }
    }

    /// Saving through a symlink replaces the target's content and keeps the link.
    func testSymlinkIsWrittenThrough() throws {
        let target = directory + "/target.bin", link = directory + "/link.bin"
        try MatrixFile.save([Int32](repeating: 0, count: 40), k: 4, vocabularySize: 10, path: target)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "target.bin")
        try MatrixFile.save(matrix, k: 4, vocabularySize: 10, path: link)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), "target.bin")
        XCTAssertEqual(try MatrixFile.load(path: target, vocabularySize: 10, k: 4), matrix)
        XCTAssertEqual(try MatrixFileLock(path: link).target, try MatrixFileLock(path: target).target)
        try FileManager.default.createSymbolicLink(atPath: directory + "/dangling.bin", withDestinationPath: "missing/x.bin")
        XCTAssertThrowsError(try MatrixFile.save(matrix, k: 4, vocabularySize: 10, path: directory + "/dangling.bin"))
    }

    /// A save killed before its rename leaves `.<name>.<pid>.tmp`; the next user removes it.
    func testLeftoverTemporaryFilesAreRemoved() throws {
        let path = directory + "/m.bin", leftover = directory + "/.m.bin.999999.tmp"
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: leftover))
        let lock = try MatrixFileLock(path: path)
        XCTAssertFalse(FileManager.default.fileExists(atPath: leftover))
        try MatrixFile.save(matrix, k: 4, vocabularySize: 10, path: lock.target)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        XCTAssertEqual(names, [".m.bin.lock", "m.bin"])
    }

    func testSecondWriterIsRefused() throws {
        let path = directory + "/m.bin"
        var first: MatrixFileLock? = try MatrixFileLock(path: path)
        XCTAssertThrowsError(try MatrixFileLock(path: path)) { XCTAssertEqual($0 as? MatrixFile.Error, .inUse(path: path)) }
        XCTAssertNotNil(first)
        first = nil
        XCTAssertNoThrow(try MatrixFileLock(path: path), "released with its holder")
    }

    /// Through the CLI: while `recycle chat` holds a matrix, `recycle generate` on the same file
    /// is refused; the chat still saves its matrix when it ends.
    func testSecondProcessIsRefusedAndTheFirstStillSaves() throws {
        let model = try defaultModelPath(), path = directory + "/m.bin"
        let chat = try recycleProcess(["chat", "-m", model, "--drafter", "recycle", "--tree", "2.2.2-l1", "--matrix", path, "-n", "4"])
        let input = Pipe()
        chat.standardInput = input
        chat.standardOutput = FileHandle.nullDevice
        chat.standardError = FileHandle.nullDevice
        try chat.run()
        // The lock is taken as the options are read; wait until the chat holds it.
        let deadline = Date().addingTimeInterval(30)
        while (try? MatrixFileLock(path: path)) != nil && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        let second = try shell(#""$@""#, ["generate", "-m", model, "-p", "hi", "-n", "2", "--drafter", "recycle", "--matrix", path])
        XCTAssertEqual(second.status, 1)
        XCTAssertTrue(second.stderr.contains("is in use by another recycle process"), second.stderr)
        input.fileHandleForWriting.write(Data("Hello!\n".utf8))
        try input.fileHandleForWriting.close()
        chat.waitUntilExit()
        XCTAssertEqual(chat.terminationStatus, 0)
        XCTAssertNoThrow(try MatrixFile.load(path: path, vocabularySize: 49152, k: 8))
    }
}
