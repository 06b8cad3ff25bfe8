import BertScope
import BertScopeAnalysis

/// Namespace of the figures and the HTML report.
public enum Report {}
