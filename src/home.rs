//! The rmeter home: a folder laid out like a JMeter home (`bin/jmeter.sh`, `bin/*.properties`),
//! so that tools that drive JMeter by its home folder (Taurus, Maven and Gradle plugins, CI
//! images) drive rmeter instead. `rmeter install-home DIR` writes it.

use std::path::{Path, PathBuf};

/// The home of this run: `-d`, else `$RMETER_HOME`, else the folder above the binary when the
/// binary sits in a `bin` folder (the layout [`install`] writes, and JMeter's).
pub fn locate(explicit: Option<PathBuf>) -> Option<PathBuf> {
    if explicit.is_some() {
        return explicit;
    }
    if let Some(home) = std::env::var_os("RMETER_HOME").filter(|h| !h.is_empty()) {
        return Some(PathBuf::from(home));
    }
    let exe = std::env::current_exe().ok()?;
    let bin = exe.parent()?;
    (bin.file_name()? == "bin").then(|| bin.parent().map(Path::to_path_buf))?
}

/// Launchers: each runs the rmeter binary beside it with its arguments.
const LAUNCHERS: &[(&str, &str)] = &[
    ("jmeter", ""),
    ("jmeter.sh", ""),
    ("shutdown.sh", "shutdown"),
    ("stoptest.sh", "stoptest"),
];

/// Writes a home folder at `dir`: `bin/rmeter` (a copy of `binary`), the launchers
/// `bin/jmeter`, `bin/jmeter.sh`, `bin/shutdown.sh` and `bin/stoptest.sh`, empty
/// `bin/user.properties` and `bin/system.properties`, and a `bin/PluginsManagerCMD.sh` that does
/// nothing (Taurus calls it to install plugins; rmeter has none to install).
pub fn install(dir: &Path, binary: &Path) -> std::io::Result<Vec<PathBuf>> {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin)?;
    let mut written = Vec::new();
    let target = bin.join("rmeter");
    if std::fs::canonicalize(binary).ok() != std::fs::canonicalize(&target).ok() {
        std::fs::copy(binary, &target)?;
    }
    written.push(target);
    for (name, subcommand) in LAUNCHERS {
        let script = format!(
            "#!/bin/sh\n# Runs rmeter in place of JMeter's {name}.\nexec \"$(dirname \"$0\")/rmeter\" {subcommand}{}\"$@\"\n",
            if subcommand.is_empty() { "" } else { " " }
        );
        written.push(write_script(&bin.join(name), &script)?);
    }
    written.push(write_script(
        &bin.join("PluginsManagerCMD.sh"),
        "#!/bin/sh\n# rmeter has no plugins to install; Taurus calls this before each run.\nexit 0\n",
    )?);
    for name in ["user.properties", "system.properties"] {
        let file = bin.join(name);
        if !file.exists() {
            std::fs::write(
                &file,
                format!("# rmeter loads this file as JMeter loads its {name}.\n"),
            )?;
            written.push(file);
        }
    }
    Ok(written)
}

fn write_script(path: &Path, text: &str) -> std::io::Result<PathBuf> {
    std::fs::write(path, text)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installs_launchers_and_keeps_properties() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("fake-binary");
        std::fs::write(&fake, "binary").unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir_all(home.join("bin")).unwrap();
        std::fs::write(home.join("bin/user.properties"), "mine=1\n").unwrap();
        install(&home, &fake).unwrap();
        let read = |name: &str| std::fs::read_to_string(home.join("bin").join(name)).unwrap();
        assert_eq!(read("rmeter"), "binary");
        assert!(read("jmeter.sh").contains("exec \"$(dirname \"$0\")/rmeter\" \"$@\""));
        assert!(read("shutdown.sh").contains("/rmeter\" shutdown \"$@\""));
        assert_eq!(
            read("user.properties"),
            "mine=1\n",
            "an existing file is kept"
        );
        assert!(read("PluginsManagerCMD.sh").contains("exit 0"));
    }
}
