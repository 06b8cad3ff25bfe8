import Dispatch
import Foundation

/// Number of worker threads the CPU backend uses for its own loops (each OpenBLAS call is
/// single-threaded on one of them).
let hostThreads = max(1, ProcessInfo.processInfo.activeProcessorCount)

/// Wraps a closure that is only ever run on disjoint data (each iteration writes its own
/// rows or heads), so handing it to several threads is safe although it captures pointers.
private struct DisjointWork<Argument>: @unchecked Sendable {
  let run: (Argument) -> Void
}

/// Runs `body(i)` for every i in `0..<count` on all cores, items handed out dynamically.
/// Iterations must touch disjoint memory.
func parallelItems(_ count: Int, _ body: (Int) -> Void) {
  guard count > 0 else { return }
  if count == 1 || hostThreads == 1 {
    for i in 0..<count { body(i) }
    return
  }
  withoutActuallyEscaping(body) { escaping in
    let work = DisjointWork(run: escaping)
    DispatchQueue.concurrentPerform(iterations: count) { work.run($0) }
  }
}

/// Runs `body` over `0..<count` split into contiguous chunks on all cores; `grain` is the
/// smallest chunk worth a thread. Chunks must touch disjoint memory.
func parallelChunks(_ count: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
  guard count > 0 else { return }
  let chunks = min(max(1, count / max(grain, 1)), hostThreads * 4)
  if chunks == 1 {
    body(0..<count)
    return
  }
  parallelItems(chunks) { c in
    let start = count * c / chunks
    let end = count * (c + 1) / chunks
    if start < end { body(start..<end) }
  }
}
