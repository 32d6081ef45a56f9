//! Plain HTTP clients for the reception console (forms with CSRF) and the authority's operator
//! JSON API, as a receptionist's browser and an agency employee's tools would use them.

use std::path::Path;

use serde_json::Value;

/// Web errors.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// Transport.
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
    /// Unexpected page or answer.
    #[error("{0}")]
    Unexpected(String),
    /// Reading a file.
    #[error("reading {0}: {1}")]
    Io(String, std::io::Error),
}

fn csrf_of(html: &str) -> Result<String, WebError> {
    let key = "name=\"csrf\" value=\"";
    let i = html
        .find(key)
        .ok_or_else(|| WebError::Unexpected("page has no csrf field".into()))?
        + key.len();
    Ok(html[i..].split('"').next().unwrap_or_default().to_owned())
}

/// A receptionist signed in to the console.
#[derive(Debug)]
pub struct Reception {
    base: String,
    client: reqwest::blocking::Client,
}

/// A visitor as the receptionist types them in.
#[derive(Debug, Clone)]
pub struct Visitor {
    /// IIN.
    pub iin: String,
    /// Surname.
    pub surname: String,
    /// Name.
    pub name: String,
    /// E-mail.
    pub email: String,
}

impl Reception {
    /// Signs in.
    pub fn sign_in(base: &str, login: &str, password: &str) -> Result<Reception, WebError> {
        let client = reqwest::blocking::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let page = client.get(format!("{base}/login")).send()?.text()?;
        let csrf = csrf_of(&page)?;
        let r = client
            .post(format!("{base}/login"))
            .form(&[
                ("login", login),
                ("password", password),
                ("csrf", csrf.as_str()),
            ])
            .send()?;
        if r.status().as_u16() != 303 {
            return Err(WebError::Unexpected(format!(
                "sign-in answered {}",
                r.status()
            )));
        }
        Ok(Reception {
            base: base.to_owned(),
            client,
        })
    }

    /// Registers a visit bound to any booth of the branch; returns the 6-digit ticket.
    pub fn register(&self, v: &Visitor) -> Result<String, WebError> {
        let page = self
            .client
            .get(format!("{}/visits/new", self.base))
            .send()?
            .text()?;
        let csrf = csrf_of(&page)?;
        let form = [
            ("csrf", csrf.as_str()),
            ("document_kind", "id_card"),
            ("document_number", "045123789"),
            ("iin", &v.iin),
            ("applicant_kind", "individual"),
            ("surname", &v.surname),
            ("name", &v.name),
            ("patronymic", ""),
            ("bin", ""),
            ("entity_name", ""),
            ("phone", "+7 701 123 45 67"),
            ("email", &v.email),
            ("consent", "yes"),
            ("booth", "any"),
        ];
        let r = self
            .client
            .post(format!("{}/visits", self.base))
            .form(&form)
            .send()?;
        if r.status().as_u16() != 303 {
            let status = r.status();
            let body = r.text().unwrap_or_default();
            return Err(WebError::Unexpected(format!(
                "registration answered {status}: {}",
                &body[..body.len().min(400)]
            )));
        }
        let loc = r
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .ok_or_else(|| WebError::Unexpected("no redirect to the slip".into()))?
            .to_owned();
        let slip = self
            .client
            .get(format!("{}{loc}", self.base))
            .send()?
            .text()?;
        let key = "id=\"ticket\">";
        let i = slip
            .find(key)
            .ok_or_else(|| WebError::Unexpected("slip shows no ticket".into()))?
            + key.len();
        let ticket: String = slip[i..].chars().take(6).collect();
        if ticket.len() != 6 || !ticket.bytes().all(|b| b.is_ascii_digit()) {
            return Err(WebError::Unexpected(format!("bad ticket {ticket:?}")));
        }
        Ok(ticket)
    }

    /// The journal page's HTML (search by surname).
    pub fn journal(&self, surname: &str) -> Result<String, WebError> {
        Ok(self
            .client
            .get(format!("{}/journal", self.base))
            .query(&[("surname", surname)])
            .send()?
            .text()?)
    }
}

/// The agency employee's JSON API on authority-sim (HTTP Basic, pinned demo CA).
#[derive(Debug)]
pub struct Operator {
    base: String,
    client: reqwest::blocking::Client,
    password: String,
}

impl Operator {
    /// A client that trusts the authority's CA file.
    pub fn new(base: &str, ca_cert: &Path, password: &str) -> Result<Operator, WebError> {
        let pem =
            std::fs::read(ca_cert).map_err(|e| WebError::Io(ca_cert.display().to_string(), e))?;
        let ca = reqwest::Certificate::from_pem(&pem)?;
        let client = reqwest::blocking::Client::builder()
            .add_root_certificate(ca)
            .build()?;
        Ok(Operator {
            base: base.to_owned(),
            client,
            password: password.to_owned(),
        })
    }

    fn get(&self, path: &str) -> Result<reqwest::blocking::Response, WebError> {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .basic_auth("operator", Some(&self.password))
            .send()?;
        if !r.status().is_success() {
            return Err(WebError::Unexpected(format!(
                "GET {path} answered {}",
                r.status()
            )));
        }
        Ok(r)
    }

    /// All appeals as JSON values.
    pub fn appeals(&self) -> Result<Vec<Value>, WebError> {
        let v: Value = self.get("/operator/api/appeals")?.json()?;
        Ok(match v {
            Value::Array(a) => a,
            Value::Object(mut o) => match o.remove("appeals") {
                Some(Value::Array(a)) => a,
                _ => Vec::new(),
            },
            _ => Vec::new(),
        })
    }

    /// The decrypted recording of an appeal.
    pub fn media(&self, id: &str) -> Result<Vec<u8>, WebError> {
        Ok(self
            .get(&format!("/operator/api/appeals/{id}/media"))?
            .bytes()?
            .to_vec())
    }

    /// Answers an appeal with a decision.
    pub fn answer(&self, id: &str, decision: &str, text: &str) -> Result<(), WebError> {
        let body = serde_json::json!({ "decision": decision, "text": text, "signed_by": "Бас маман Е. Сейітов" });
        let r = self
            .client
            .post(format!("{}/operator/api/appeals/{id}/answer", self.base))
            .basic_auth("operator", Some(&self.password))
            .json(&body)
            .send()?;
        if !r.status().is_success() {
            let s = r.status();
            return Err(WebError::Unexpected(format!(
                "answer answered {s}: {}",
                r.text().unwrap_or_default()
            )));
        }
        Ok(())
    }

    /// Ratings received.
    pub fn ratings(&self) -> Result<Value, WebError> {
        Ok(self.get("/operator/api/ratings")?.json()?)
    }
}

/// Decodes the QR code in a receipt PNG (as the booth's camera would read it).
pub fn decode_qr(png: &Path) -> Result<String, WebError> {
    let img = image::open(png)
        .map_err(|e| WebError::Unexpected(format!("{}: {e}", png.display())))?
        .to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    let grid = grids
        .first()
        .ok_or_else(|| WebError::Unexpected(format!("no QR code in {}", png.display())))?;
    let (_, content) = grid
        .decode()
        .map_err(|e| WebError::Unexpected(format!("QR decode: {e}")))?;
    Ok(content)
}

/// Writes to `out` the part of the receipt `png` around its QR code, with a quiet margin: what
/// the camera sees when a citizen holds the receipt's code up to it.
pub fn crop_to_qr(png: &Path, out: &Path) -> Result<(), WebError> {
    let rgb = image::open(png)
        .map_err(|e| WebError::Unexpected(format!("{}: {e}", png.display())))?
        .to_rgb8();
    let luma = image::DynamicImage::ImageRgb8(rgb.clone()).to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(luma);
    let grids = prepared.detect_grids();
    let grid = grids
        .first()
        .ok_or_else(|| WebError::Unexpected(format!("no QR code in {}", png.display())))?;
    let xs = grid.bounds.iter().map(|p| p.x);
    let ys = grid.bounds.iter().map(|p| p.y);
    let (x0, x1) = (xs.clone().min().unwrap_or(0), xs.max().unwrap_or(0));
    let (y0, y1) = (ys.clone().min().unwrap_or(0), ys.max().unwrap_or(0));
    let margin = ((x1 - x0).max(y1 - y0) / 3).max(8);
    let (w, h) = (rgb.width() as i32, rgb.height() as i32);
    let left = (x0 - margin).max(0);
    let top = (y0 - margin).max(0);
    let right = (x1 + margin).min(w);
    let bottom = (y1 + margin).min(h);
    if right <= left || bottom <= top {
        return Err(WebError::Unexpected("QR bounds outside the receipt".into()));
    }
    let crop = image::imageops::crop_imm(
        &rgb,
        left as u32,
        top as u32,
        (right - left) as u32,
        (bottom - top) as u32,
    )
    .to_image();
    crop.save(out)
        .map_err(|e| WebError::Unexpected(format!("{}: {e}", out.display())))
}
