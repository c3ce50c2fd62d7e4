//! Variable names interned at plan build time.
//!
//! Every variable name that a plan mentions (in templates, extractors, CSV data sets, counters)
//! gets a [`VarId`]; a virtual user keeps its values in a vector indexed by it, so a `${token}`
//! lookup is an index, not a hash of a string. Names made up at run time (`__split`'s `x_3`,
//! a regex extractor's `name_g2`) are looked up by name, see `runtime::vars`.

use std::collections::HashMap;
use std::sync::Arc;

/// An interned variable name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VarId(pub u32);

/// The plan's variable names.
#[derive(Debug, Clone, Default)]
pub struct VarTable {
    names: Vec<Arc<str>>,
    index: HashMap<Arc<str>, VarId>,
}

impl VarTable {
    pub fn intern(&mut self, name: &str) -> VarId {
        if let Some(id) = self.index.get(name) {
            return *id;
        }
        let id = VarId(self.names.len() as u32);
        let name: Arc<str> = name.into();
        self.names.push(name.clone());
        self.index.insert(name, id);
        id
    }

    pub fn get(&self, name: &str) -> Option<VarId> {
        self.index.get(name).copied()
    }

    pub fn name(&self, id: VarId) -> &str {
        self.names.get(id.0 as usize).map_or("", |n| n)
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}
