import CLibFuzzer
import Foundation

// SwiftPM links executables with their entry point renamed, so libFuzzer's own main is not
// used: hand the test function to its driver instead.
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzCoNLLU(data, size) })
