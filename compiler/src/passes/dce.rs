//! Pass `dce`: removes ops none of whose outputs is used, until nothing changes.

use crate::error::Result;
use crate::ir::Graph;

pub fn run(g: &mut Graph) -> Result<()> {
    loop {
        let uses = g.use_counts();
        let dead: Vec<_> = g
            .node_ids()
            .into_iter()
            .filter(|&id| g.node(id).outputs.iter().all(|o| !uses.contains_key(o)))
            .collect();
        if dead.is_empty() {
            break;
        }
        for id in dead {
            g.remove_node(id);
        }
        g.rebuild_edges();
    }
    Ok(())
}
