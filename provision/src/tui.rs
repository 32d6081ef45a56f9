//! The terminal form: one line per field, the current one highlighted; a field is checked when
//! the technician leaves it (Enter, Tab, arrows) and its message shown under the form. F2 (or
//! Ctrl-S) provisions; Ctrl-U clears a field; Esc leaves without changing anything. The result screen stays until a key
//! is pressed. Works on the booth's Linux console and over SSH, and headless under tmux (tests).

use std::io;
use std::path::Path;

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::{DefaultTerminal, Frame};

use crate::form::{self, Answers, Field};
use crate::run::{self, Tools};

/// State of the form.
#[derive(Debug)]
struct Form {
    answers: Answers,
    current: usize,
    messages: Vec<(Line<'static>, bool)>,
    done: Option<String>,
}

/// What the technician decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Provisioning ran and succeeded (the report text).
    Provisioned(String),
    /// Left with Esc; nothing changed.
    Cancelled,
}

/// Runs the form in the terminal until the booth is provisioned or the technician leaves.
pub fn run(answers: Answers, tools: &Tools, state_dir: &Path) -> io::Result<Outcome> {
    let mut terminal = ratatui::init();
    let result = event_loop(&mut terminal, answers, tools, state_dir);
    ratatui::restore();
    result
}

fn event_loop(
    terminal: &mut DefaultTerminal,
    answers: Answers,
    tools: &Tools,
    state_dir: &Path,
) -> io::Result<Outcome> {
    let mut form = Form {
        answers,
        current: 0,
        messages: vec![(
            Line::from(
                "Fill in every field; Enter = next, Ctrl-U = clear field, F2 = provision, Esc = quit.",
            ),
            true,
        )],
        done: None,
    };
    loop {
        terminal.draw(|f| draw(f, &form))?;
        let Event::Key(key) = event::read()? else {
            continue;
        };
        if key.kind != KeyEventKind::Press {
            continue;
        }
        if let Some(report) = &form.done {
            return Ok(Outcome::Provisioned(report.clone()));
        }
        let field = Field::ALL[form.current];
        match key.code {
            KeyCode::Esc => return Ok(Outcome::Cancelled),
            KeyCode::F(2) => submit(&mut form, tools, state_dir, terminal)?,
            KeyCode::Char('s') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                submit(&mut form, tools, state_dir, terminal)?
            }
            KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                form.answers.get_mut(field).clear()
            }
            KeyCode::Enter | KeyCode::Tab | KeyCode::Down => {
                leave(&mut form, field, state_dir);
                form.current = (form.current + 1) % Field::ALL.len();
            }
            KeyCode::Up | KeyCode::BackTab => {
                leave(&mut form, field, state_dir);
                form.current = (form.current + Field::ALL.len() - 1) % Field::ALL.len();
            }
            KeyCode::Backspace => {
                form.answers.get_mut(field).pop();
            }
            KeyCode::Char(c) => form.answers.get_mut(field).push(c),
            _ => {}
        }
    }
}

/// Checks the field being left and shows its message.
fn leave(form: &mut Form, field: Field, state_dir: &Path) {
    form.messages = match form::check_field(&form.answers, field, state_dir) {
        Ok(()) => vec![(Line::from(format!("{}: ok", field.label())), true)],
        Err(e) => vec![(Line::from(e.to_string()), false)],
    };
}

fn submit(
    form: &mut Form,
    tools: &Tools,
    state_dir: &Path,
    terminal: &mut DefaultTerminal,
) -> io::Result<()> {
    if let Err(errors) = form::validate(&form.answers, state_dir) {
        form.current = Field::ALL
            .iter()
            .position(|f| *f == errors[0].field)
            .unwrap_or(0);
        form.messages = errors
            .iter()
            .map(|e| (Line::from(e.to_string()), false))
            .collect();
        return Ok(());
    }
    form.messages = vec![(
        Line::from("Provisioning: enrolling, diagnostics, slip…"),
        true,
    )];
    terminal.draw(|f| draw(f, form))?;
    match run::provision(&form.answers, tools) {
        Ok(r) => {
            let mut lines = vec![
                (
                    Line::from(format!(
                        "PROVISIONED. Config written to {}",
                        r.config.display()
                    )),
                    true,
                ),
                (Line::from(format!("Enrollment: {}", r.enrollment)), true),
                (
                    Line::from(format!("Slip: {}", r.slip)),
                    !r.slip.starts_with("not"),
                ),
            ];
            lines.extend(
                r.diagnostics
                    .iter()
                    .map(|d| (Line::from(format!("  {d}")), r.diagnostics_ok)),
            );
            lines.push((Line::from("Press any key to finish."), true));
            form.done = Some(crate::report_text(&r));
            form.messages = lines;
        }
        Err(e) => {
            form.messages = e
                .to_string()
                .lines()
                .map(|l| (Line::from(l.to_owned()), false))
                .collect();
            form.messages.push((
                Line::from("Nothing was changed. Correct and press F2 again."),
                true,
            ));
        }
    }
    Ok(())
}

fn draw(f: &mut Frame, form: &Form) {
    let [title, fields, messages] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Length(Field::ALL.len() as u16 + 2),
        Constraint::Min(3),
    ])
    .areas(f.area());
    f.render_widget(
        Paragraph::new("Video-appeal booth: provisioning")
            .block(Block::default().borders(Borders::ALL))
            .style(Style::default().add_modifier(Modifier::BOLD)),
        title,
    );
    let rows: Vec<Line> = Field::ALL
        .iter()
        .enumerate()
        .map(|(i, field)| {
            let value = form.answers.get(*field);
            let shown = if field.secret() {
                "*".repeat(value.chars().count())
            } else {
                value.to_owned()
            };
            let style = if i == form.current {
                Style::default().fg(Color::Black).bg(Color::Cyan)
            } else {
                Style::default()
            };
            let cursor = if i == form.current { "_" } else { "" };
            Line::from(vec![
                Span::raw(format!("{:<20} ", field.label())),
                Span::styled(format!("{shown}{cursor}"), style),
            ])
        })
        .collect();
    f.render_widget(
        Paragraph::new(rows).block(Block::default().borders(Borders::ALL).title("Booth")),
        fields,
    );
    let msgs: Vec<Line> = form
        .messages
        .iter()
        .map(|(l, ok)| {
            l.clone()
                .style(Style::default().fg(if *ok { Color::Green } else { Color::Red }))
        })
        .collect();
    f.render_widget(
        Paragraph::new(msgs)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title("Messages")),
        messages,
    );
}
