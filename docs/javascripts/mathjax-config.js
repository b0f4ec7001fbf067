// MathJax 3 configuration of the refgru site. It is read by javascripts/mathjax/tex-chtml.js, which the
// build copies from the PyPI package sphinx-mathjax-offline (docs/hooks.py), so no CDN is needed.
//
// Only two kinds of elements are typeset, with everything inside them:
//   - .arithmatex: what pymdownx.arithmatex (generic mode) makes of $...$ and $$...$$ in the .md pages,
//     already rewritten to \( ... \) and \[ ... \];
//   - .jp-MarkdownOutput: the markdown cells of the notebook page (mkdocs-jupyter), which keep $...$.
// The rest of the page (header, content, dialogs: every part of Material's layout) is ignored, so a
// dollar sign in prose is never taken for math. MathJax never looks inside <code> or <pre>.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"], ["$", "$"]],
    displayMath: [["\\[", "\\]"], ["$$", "$$"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: {
    ignoreHtmlClass: "md-header|md-container|md-dialog",
    processHtmlClass: "arithmatex|jp-MarkdownOutput",
  },
};
