import ArgumentParser
import BertScope
import BertScopeAnalysis
import BertScopeReport
import Foundation

struct ReportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "report",
    abstract: "Run the analyses on a corpus and write a self-contained HTML report with PNG/SVG figures.",
    discussion: """
      One pass over --input gives the pattern types (Kovaleva et al. 2019, Figure 2) and the \
      attention to [CLS], [SEP] and punctuation (Figure 6); ablation disables every head and \
      every layer in turn (Figure 8) on the first --ablation-limit texts (default 200: each \
      text takes one forward pass per head and per layer), or on --ablation-input; with \
      --model-b the two checkpoints' maps are compared per head (Figure 5); with --conllu FILE \
      the attention to word classes, what [CLS] attends to by class (Figures 6–7) and the \
      syntactic heads of Clark et al. 2019, as `bertscope linguistic` computes them; with \
      --relations FILE (JSON Lines of texts with annotated span pairs, as `bertscope relations` \
      takes) the relation heads of §4.2. The model view shows every head's map of one example \
      (--example N: line N of --input, or --example-text), framed by its pattern type; a click \
      opens the full map with the token labels as page text; the head view below it draws one \
      layer's heads as lines between the tokens. --rollout adds the attention rollout of that \
      example (computed from its maps, so it works with --from too).

      DIR gets the analyses' CSV/JSON (as `patterns`, `special`, `ablate`, `compare`, \
      `linguistic` and `relations` write them: relations.csv + relations.json), \
      example/attention.npy + tokens.json, with --rollout rollout.npy + tokens.json (as \
      `bertscope rollout --out DIR` writes them), report.json (stage timings), index.html \
      (works offline: open it from the file system), figures/<name>.svg and .png, and \
      maps/model-view/L<l>-H<h>.png (the cells only). The page is drawn from those files only: \
      `--from DIR` redraws it without running the model (or from the outputs of the analysis \
      commands written into one folder, relations.csv and rollout.npy included). Prints the \
      page's file:// URL on stdout.
      """)

  @OptionGroup var options: ModelOptions
  @Option(help: "Corpus: one text per line (TAB separates a pair).") var input: String?
  @Option(help: "Output folder.") var out: String
  @Option(help: "Draw the report from the CSV/JSON (and example/) in this folder instead of running the analyses.")
  var from: String?
  @Option(help: "A second checkpoint (same architecture and vocabulary) to compare with --model, head by head.")
  var modelB: String?
  @Option(help: "A CoNLL-U corpus: adds attention to word classes and syntactic heads (as `bertscope linguistic`).")
  var conllu: String?
  @Option(
    help:
      "JSON Lines of texts with annotated span pairs: adds the relation heads (as `bertscope relations --input`)."
  )
  var relations: String?
  @Flag(help: "Add the attention rollout of the model-view example (as `bertscope rollout`).") var rollout = false
  @Option(help: "Line of --input (from 1) shown in the model view (default: 1, or the example already in --from).")
  var example: Int?
  @Option(help: "Text shown in the model view instead of a corpus line.") var exampleText: String?
  @Option(help: "Second text of a pair for --example-text.") var examplePair: String?
  @Option(help: "Corpus for the ablation (default: --input); labelled for --ablation-task.") var ablationInput: String?
  @Option(help: "Texts of the ablation corpus used, from its start.") var ablationLimit = 200
  @Flag(help: "Skip the ablation (it costs one forward pass per head and per layer).") var noAblation = false
  @Option(help: "uniform (the paper's) or zero.") var ablationMode: AblationMode = .uniform
  @Option(help: "similarity or classify (labelled --ablation-input); default: the change of the embeddings.")
  var ablationTask: AblationTask?
  @Option(help: "Sequences per forward pass.") var batchSize = 32
  @Option(help: "Title of the page (default: names the model).") var title: String?
  @OptionGroup var sharding: ShardOptions

  func validate() throws {
    guard input != nil || from != nil else {
      throw ValidationError("give --input FILE (run the analyses) or --from DIR (redraw)")
    }
    if conllu != nil && input == nil {
      throw ValidationError("--conllu goes with --input (the corpus of the other sections)")
    }
    if relations != nil && input == nil {
      throw ValidationError("--relations goes with --input (the corpus of the other sections)")
    }
    if input == "-" || ablationInput == "-" || conllu == "-" || relations == "-" {
      throw ValidationError("the report reads its corpus more than once: give a file, not - (stdin)")
    }
    if from != nil {
      for (set, name) in [
        (input != nil, "--input"), (modelB != nil, "--model-b"), (ablationInput != nil, "--ablation-input"),
        (conllu != nil, "--conllu"), (relations != nil, "--relations"),
      ] where set {
        // --input stays allowed when it only names the example's corpus.
        if name == "--input" && example != nil { continue }
        throw ValidationError(
          "\(name) runs an analysis; --from only redraws (run `bertscope report --input` into a folder, then --from it)"
        )
      }
    }
    if noAblation && (ablationInput != nil || ablationTask != nil) {
      throw ValidationError("--no-ablation contradicts --ablation-input/--ablation-task")
    }
    if ablationTask != nil && ablationInput == nil {
      throw ValidationError("--ablation-task needs labelled texts: give --ablation-input FILE")
    }
    if let example, example < 1 { throw ValidationError("--example counts lines from 1") }
    if example != nil && exampleText != nil { throw ValidationError("give --example or --example-text, not both") }
    if examplePair != nil && exampleText == nil { throw ValidationError("--example-pair goes with --example-text") }
    if example != nil && input == nil { throw ValidationError("--example N picks line N of --input: give --input too") }
    guard ablationLimit >= 1 else { throw ValidationError("--ablation-limit must be at least 1") }
    guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
  }

  func run() throws {
    var plan = ReportPlan(input: input, batchSize: batchSize, title: title)
    if from == nil, let input, !noAblation {
      plan.ablation = ReportPlan.Ablation(
        input: ablationInput ?? input, limit: ablationLimit, mode: ablationMode, task: ablationTask ?? .embeddingChange)
    }
    if from == nil {
      plan.modelB = modelB.map { URL(fileURLWithPath: $0, isDirectory: true) }
      plan.conllu = conllu
      plan.relations = relations
    }
    plan.rollout = rollout
    if let exampleText {
      plan.example = .text(exampleText, pair: examplePair)
    } else if let example {
      plan.example = .line(example)
    }
    plan.from = from.map { URL(fileURLWithPath: $0, isDirectory: true) }
    plan.command = (["bertscope"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
    plan.control = try sharding.control(input: input ?? "")
    if plan.control.keepsState && from != nil {
      throw BertScopeError.invalidInput("--from only redraws: --shard, --checkpoint-every and --resume go with --input")
    }
    var report = ReportRun(plan: plan, folder: URL(fileURLWithPath: out, isDirectory: true), notes: options.notes) {
      try options.session()
    }
    let page = try report.run()
    options.note(
      String(format: "figures and page in %.1f s; index.html is %.0f kB", page.seconds, Double(page.bytes) / 1000))
    if !Graphics.isAvailable {
      options.note(
        "figures written as SVG only: PNG and PDF need Cairo and Pango (install \(Graphics.packages), then `bertscope report --from \(out) --out DIR`)"
      )
    }
    options.note("open \(page.index.absoluteString)")
    print(page.index.absoluteString)
  }
}
