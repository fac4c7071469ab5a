//! The stage graph: wiring checks, cycle detection, topological order, descendants.
//!
//! Edges run from an upstream stage to the stage that reads it. A reference to a stage that does
//! not exist and a cycle are errors with a primary span (the reference) and a context span (the
//! stage that closes the cycle), so a user sees both ends of the problem.

use petgraph::algo::toposort;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::{Dfs, EdgeRef};

use crate::diag::{SourceError, SourceErrors};
use crate::params::suggest;
use crate::pipeline::Pipeline;
use crate::stage::DataKind;

pub struct Dag {
    graph: DiGraph<usize, String>,
    /// Stage indices (into `Pipeline::stages`) in an order where inputs come first; ties keep
    /// file order, so runs and listings are stable.
    order: Vec<usize>,
}

impl Dag {
    pub fn build(p: &Pipeline) -> Result<Dag, crate::diag::Error> {
        let mut graph = DiGraph::new();
        let nodes: Vec<NodeIndex> = (0..p.stages.len()).map(|i| graph.add_node(i)).collect();
        let mut errors = Vec::new();
        for (i, s) in p.stages.iter().enumerate() {
            for (name, r) in &s.inputs {
                match p.index_of(&r.stage) {
                    Some(u) if u == i => errors.push(
                        p.source
                            .error(r.span.clone(), format!("stage `{}` reads itself", s.id))
                            .label("self-reference"),
                    ),
                    Some(u) => {
                        let declared = p.stages[u].kind.info().outputs;
                        let outputs = declared.names();
                        let listing = || {
                            outputs
                                .iter()
                                .map(|o| format!("\"{}/{o}\"", r.stage))
                                .collect::<Vec<_>>()
                                .join(", ")
                        };
                        match &r.output {
                            Some(o) if !outputs.contains(&o.as_str()) => errors.push(
                                p.source
                                    .error(
                                        r.span.clone(),
                                        format!("stage `{}` has no output `{o}`", r.stage),
                                    )
                                    .help(if outputs.is_empty() {
                                        format!("write \"{}\"", r.stage)
                                    } else {
                                        format!("its outputs are {}", listing())
                                    }),
                            ),
                            None if !outputs.is_empty() => errors.push(
                                p.source
                                    .error(
                                        r.span.clone(),
                                        format!(
                                            "stage `{}` has several outputs; name the one to read",
                                            r.stage
                                        ),
                                    )
                                    .help(format!("one of {}", listing())),
                            ),
                            _ => {
                                if let Some(e) = kind_mismatch(p, s, name, r, u) {
                                    errors.push(e);
                                }
                            }
                        }
                        graph.add_edge(nodes[u], nodes[i], name.clone());
                    }
                    None => {
                        let ids = p.stages.iter().map(|s| s.id.as_str());
                        let help = match suggest(&r.stage, ids) {
                            Some(x) => format!("did you mean `{x}`?"),
                            None => format!(
                                "the stages are: {}",
                                p.stages
                                    .iter()
                                    .map(|s| s.id.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        };
                        errors.push(
                            p.source
                                .error(
                                    r.span.clone(),
                                    format!(
                                        "stage `{}` reads `{}`, which is not a stage",
                                        s.id, r.stage
                                    ),
                                )
                                .label("no such stage")
                                .help(help),
                        );
                    }
                }
            }
        }
        if errors.is_empty()
            && let Err(cycle) = toposort(&graph, None)
        {
            errors.push(cycle_error(p, &graph, cycle.node_id()));
        }
        SourceErrors::check(errors)?;
        // Kahn's algorithm with the smallest file index first, for a stable order.
        let n = p.stages.len();
        let mut indeg: Vec<usize> = nodes
            .iter()
            .map(|&v| graph.edges_directed(v, petgraph::Incoming).count())
            .collect();
        let mut ready: std::collections::BTreeSet<usize> =
            (0..n).filter(|&i| indeg[i] == 0).collect();
        let mut order = Vec::with_capacity(n);
        while let Some(i) = ready.pop_first() {
            order.push(i);
            for e in graph.edges_directed(nodes[i], petgraph::Outgoing) {
                let j = graph[e.target()];
                indeg[j] -= 1;
                if indeg[j] == 0 {
                    ready.insert(j);
                }
            }
        }
        Ok(Dag { graph, order })
    }

    /// Stage indices, inputs before readers.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// Indices of the stages that read `i` directly.
    pub fn readers(&self, i: usize) -> Vec<usize> {
        self.graph
            .neighbors_directed(NodeIndex::new(i), petgraph::Outgoing)
            .map(|n| self.graph[n])
            .collect()
    }

    /// Every stage downstream of `i` (not including `i`).
    pub fn descendants(&self, i: usize) -> Vec<usize> {
        let mut dfs = Dfs::new(&self.graph, NodeIndex::new(i));
        let mut out = Vec::new();
        while let Some(n) = dfs.next(&self.graph) {
            if n.index() != i {
                out.push(self.graph[n]);
            }
        }
        out.sort_unstable();
        out
    }
}

/// Finds the cycle through `start` and reports it as `a → b → … → a`.
fn cycle_error(p: &Pipeline, graph: &DiGraph<usize, String>, start: NodeIndex) -> SourceError {
    // Breadth-first search from `start` back to itself gives the shortest cycle.
    let mut prev = vec![None; graph.node_count()];
    let mut queue = std::collections::VecDeque::from([start]);
    let mut closing = None;
    'search: while let Some(v) = queue.pop_front() {
        for w in graph.neighbors_directed(v, petgraph::Outgoing) {
            if w == start {
                closing = Some(v);
                break 'search;
            }
            if prev[w.index()].is_none() {
                prev[w.index()] = Some(v);
                queue.push_back(w);
            }
        }
    }
    let mut path = vec![start];
    if let Some(mut v) = closing {
        let mut back = vec![v];
        while let Some(u) = prev[v.index()] {
            if u == start {
                break;
            }
            back.push(u);
            v = u;
        }
        back.reverse();
        path.extend(back.into_iter().filter(|&n| n != start));
    }
    // Start the report at the stage that comes first in the file, so it is the same every time.
    if let Some(lead) = (0..path.len()).min_by_key(|&k| graph[path[k]]) {
        path.rotate_left(lead);
    }
    let start = path[0];
    let names: Vec<&str> = path
        .iter()
        .map(|n| p.stages[graph[*n]].id.as_str())
        .collect();
    let first = &p.stages[graph[start]];
    let last = &p.stages[graph[*path.last().unwrap_or(&start)]];
    // Primary: where `start` reads the last stage of the cycle; context: where the cycle begins.
    let span = first
        .inputs
        .values()
        .find(|r| r.stage == last.id)
        .map(|r| r.span.clone())
        .unwrap_or(first.span.clone());
    let mut err = p
        .source
        .error(
            span,
            format!(
                "the stages form a cycle: {} → {}",
                names.join(" → "),
                names[0]
            ),
        )
        .label("closes the cycle")
        .help("a stage cannot depend on its own output; remove one of these inputs");
    if path.len() > 1 {
        err = err.context(
            last.span.clone(),
            format!("`{}` is downstream of `{}`", last.id, first.id),
        );
    }
    err
}

/// The data kind stage `u` writes at `output`, following [`crate::stage::Outputs::SameAs`]
/// through the wiring (at most one hop per stage, so a cycle, reported elsewhere, ends it);
/// `None` when unknown.
pub fn output_kind(p: &Pipeline, u: usize, output: Option<&str>) -> Option<DataKind> {
    let mut u = u;
    let mut output = output.map(str::to_string);
    for _ in 0..=p.stages.len() {
        match p.stages[u].kind.info().outputs {
            crate::stage::Outputs::SameAs(input) => {
                let r = p.stages[u].inputs.get(input)?;
                u = p.index_of(&r.stage)?;
                output = r.output.clone();
            }
            o => return o.kind(output.as_deref()),
        }
    }
    None
}

/// The error for input `name` of stage `s` wired to stage `u` (reference `r`) when what `u` writes
/// is not a data kind the input accepts: caught here, before any I/O, instead of mid-run.
fn kind_mismatch(
    p: &Pipeline,
    s: &crate::pipeline::StageDecl,
    name: &str,
    r: &crate::pipeline::InputRef,
    u: usize,
) -> Option<SourceError> {
    let writes = output_kind(p, u, r.output.as_deref())?;
    let spec = s
        .kind
        .info()
        .inputs
        .iter()
        .find(|i| i.name == name || i.name == crate::stage::ANY_INPUT)?;
    if spec.accepts.contains(&writes) {
        return None;
    }
    let accepts: Vec<&str> = spec.accepts.iter().map(|k| k.name).collect();
    let input = if spec.name == crate::stage::ANY_INPUT {
        format!("input `{name}`")
    } else {
        format!("input `{}`", spec.name)
    };
    let from = format!(
        "`{}{}` ({})",
        r.stage,
        r.suffix(),
        p.stages[u].kind.info().kind
    );
    Some(
        p.source
            .error(
                r.span.clone(),
                format!(
                    "{input} of stage `{}` ({}) reads {}, but {from} writes {}",
                    s.id,
                    s.kind.info().kind,
                    accepts.join(" or "),
                    writes.name
                ),
            )
            .label(format!(
                "{} {}",
                if writes.name.starts_with(['a', 'e', 'i', 'o', 'u']) {
                    "an"
                } else {
                    "a"
                },
                writes.name
            ))
            .help(format!("{input}: {}", spec.doc)),
    )
}
