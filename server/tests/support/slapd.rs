//! An OpenLDAP server of the test's own (Debian's slapd, foreground, loopback only, its
//! data in a temp dir), for the integration tests and the benchmark (each includes this
//! file with `#[path]`).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};

pub const LDAP_ADMIN: &str = "cn=admin,dc=example,dc=test";
pub const LDAP_PASSWORD: &str = "ldap-secret";
pub const PEOPLE_BASE: &str = "ou=people,dc=example,dc=test";
/// groupOfNames must keep a member: a placeholder holds the place.
const PLACEHOLDER: &str = "cn=nobody";

type Attributes = Vec<(String, HashSet<String>)>;

fn entry(pairs: &[(&str, &[&str])]) -> Attributes {
    pairs
        .iter()
        .map(|(k, vs)| (k.to_string(), vs.iter().map(|v| v.to_string()).collect()))
        .collect()
}

/// Stopped when dropped.
pub struct Slapd {
    child: Child,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Slapd {
    /// A directory with `ou=people`, Eli Evans in it, and the group `cn=cloud` (empty
    /// but for the placeholder).
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        let conf = dir.path().join("slapd.conf");
        std::fs::write(
            &conf,
            format!(
                "include /etc/ldap/schema/core.schema\ninclude /etc/ldap/schema/cosine.schema\n\
                 include /etc/ldap/schema/inetorgperson.schema\npidfile {dir}/slapd.pid\n\
                 modulepath /usr/lib/ldap\nmoduleload back_mdb\ndatabase mdb\nmaxsize 104857600\n\
                 suffix \"dc=example,dc=test\"\nrootdn \"{LDAP_ADMIN}\"\nrootpw {LDAP_PASSWORD}\n\
                 directory {dir}/data\n",
                dir = dir.path().display()
            ),
        )
        .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("ldap://127.0.0.1:{port}/");
        let child = Command::new("/usr/sbin/slapd")
            .arg("-f")
            .arg(&conf)
            .args(["-h", &url, "-d", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("slapd starts (run scripts/setup.sh --for test)");
        let slapd = Self {
            child,
            url,
            _dir: dir,
        };
        for _ in 0..100 {
            if let Ok(mut ldap) = slapd.bind().await {
                for (dn, attributes) in [
                    (
                        "dc=example,dc=test",
                        entry(&[
                            ("objectClass", &["dcObject", "organization"]),
                            ("o", &["Example"]),
                            ("dc", &["example"]),
                        ]),
                    ),
                    (
                        PEOPLE_BASE,
                        entry(&[
                            ("objectClass", &["organizationalUnit"]),
                            ("ou", &["people"]),
                        ]),
                    ),
                ] {
                    ldap.add(dn, attributes).await.unwrap().success().unwrap();
                }
                slapd
                    .add_person("eli", "Eli Evans", "eli.evans@example.com")
                    .await;
                slapd.add_group("cloud", &[]).await;
                return slapd;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("slapd did not start at {}", slapd.url);
    }

    async fn bind(&self) -> Result<ldap3::Ldap, ldap3::LdapError> {
        let (connection, mut ldap) = ldap3::LdapConnAsync::new(&self.url).await?;
        ldap3::drive!(connection);
        ldap.simple_bind(LDAP_ADMIN, LDAP_PASSWORD)
            .await?
            .success()?;
        Ok(ldap)
    }

    /// Adds `uid=<uid>` under the people base; returns its DN.
    pub async fn add_person(&self, uid: &str, name: &str, mail: &str) -> String {
        let dn = format!("uid={uid},{PEOPLE_BASE}");
        let mut ldap = self.bind().await.unwrap();
        ldap.add(
            &dn,
            entry(&[
                ("objectClass", &["inetOrgPerson"]),
                ("uid", &[uid]),
                ("cn", &[name]),
                ("sn", &[name]),
                ("mail", &[mail]),
            ]),
        )
        .await
        .unwrap()
        .success()
        .unwrap();
        dn
    }

    /// Adds the groupOfNames `cn=<cn>` with these members (and the placeholder); returns
    /// its DN.
    pub async fn add_group(&self, cn: &str, members: &[String]) -> String {
        let dn = format!("cn={cn},dc=example,dc=test");
        let mut values: Vec<&str> = members.iter().map(String::as_str).collect();
        values.push(PLACEHOLDER);
        let mut ldap = self.bind().await.unwrap();
        ldap.add(
            &dn,
            entry(&[
                ("objectClass", &["groupOfNames"]),
                ("cn", &[cn]),
                ("member", &values),
            ]),
        )
        .await
        .unwrap()
        .success()
        .unwrap();
        dn
    }

    /// The members of `cn=cloud`.
    pub async fn members(&self) -> Vec<String> {
        self.members_of("cn=cloud,dc=example,dc=test").await
    }

    /// The members of a group, without the placeholder.
    pub async fn members_of(&self, group: &str) -> Vec<String> {
        let mut ldap = self.bind().await.unwrap();
        let (entries, _) = ldap
            .search(group, ldap3::Scope::Base, "(objectClass=*)", vec!["member"])
            .await
            .unwrap()
            .success()
            .unwrap();
        let mut members = ldap3::SearchEntry::construct(entries.into_iter().next().unwrap())
            .attrs
            .remove("member")
            .unwrap_or_default();
        members.retain(|member| member != PLACEHOLDER);
        members
    }
}
