import Foundation
import TestSupport

enum TestSupportPaths {
    static func tempDirectory() throws -> String {
        try TestEnvironment.temporaryDirectory().path
    }

    static func tempFile(_ contents: String) throws -> String {
        let path = try tempDirectory() + "/file"
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
