import BertScope
import Dispatch
import Foundation

/// Ctrl-C (SIGINT), SIGTERM and SIGHUP: remove the temporary files of outputs still being
/// written (`AtomicFile`), say how far the run got, and exit with 128 + the signal number.
/// Outputs are renamed into place only when complete, so the destination keeps its old
/// content (or stays absent); SIGKILL cannot be caught and may leave a hidden `.partial` file.
enum Signals {
  /// The dispatch sources, kept alive for the life of the process.
  nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []

  static func install() {
    let queue = DispatchQueue(label: "bertscope.signals")
    for signal in [SIGINT, SIGTERM, SIGHUP] {
      // Ignored by the default handler so that only the dispatch source sees it; the source
      // runs on a normal thread, where locks and file calls are allowed.
      Foundation.signal(signal, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: signal, queue: queue)
      source.setEventHandler { interrupted(by: signal) }
      source.resume()
      sources.append(source)
    }
  }

  private static func interrupted(by signal: Int32) {
    // A run that can checkpoint stops after its batch, saves its state and says how to resume.
    if StopRequest.request(signal) { return }
    exitNow(signal)
  }

  private static func exitNow(_ signal: Int32) -> Never {
    let removed = AtomicFile.removeTemporaries()
    let name = StopRequest.name(signal)
    var message = "interrupted (\(name))"
    if let summary = RunProgress.summary() { message += ": " + summary }
    if !removed.isEmpty {
      message += "; not written: " + removed.joined(separator: ", ") + " (left as it was)"
    }
    // Start on a fresh line if a progress line is being rewritten in place.
    printError((isatty(2) == 1 ? "\r\u{1B}[K" : "") + message)
    _exit(128 + signal)
  }
}
