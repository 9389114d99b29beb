//! The built-in model on small hand-built conversations (the structure is given, so these test
//! the role model, not the linker).

use super::train::conversations_from_ids;
use super::*;
use crate::classify::features::words;

fn msg(id: usize, author: &str, content: &str, minute: i64) -> Message {
    Message {
        id: id.to_string(),
        channel_id: "help".into(),
        author_id: author.into(),
        content: content.into(),
        timestamp_ms: minute * 60_000,
        ..Default::default()
    }
}

/// A stand-in for the question classifier: '?' or a leading wh-word / auxiliary.
fn question(m: &Message) -> Option<f32> {
    let w = words(&m.content);
    let lead = w.first().map(String::as_str).unwrap_or("");
    let q =
        m.content.contains('?') || ["how", "what", "why", "where", "does", "do", "is", "can", "anyone"].contains(&lead);
    Some(if q { 0.95 } else { 0.05 })
}

/// Roles of `(author, text, minute, conversation)` messages with the built-in model.
fn run(rows: &[(&str, &str, i64, &str)]) -> Vec<Option<RoleOut>> {
    let messages: Vec<Message> = rows.iter().enumerate().map(|(i, r)| msg(i, r.0, r.1, r.2)).collect();
    let ids: Vec<String> = rows.iter().map(|r| r.3.to_string()).collect();
    let convs = conversations_from_ids(&messages, &ids);
    let q: Vec<Option<f32>> = messages.iter().map(question).collect();
    roles(&messages, &convs, &q, &AskOptions::default())
}

fn role(r: &Option<RoleOut>) -> Option<Role> {
    r.map(|x| x.role)
}

#[test]
fn an_ask_without_a_question_mark() {
    let out = run(&[
        ("alice", "I'm getting permission denied when I run docker build in my project folder", 0, "a"),
        ("bob", "run it with sudo or add yourself to the docker group", 2, "a"),
        ("alice", "thanks, that worked", 3, "a"),
    ]);
    assert_eq!(role(&out[0]), Some(Role::Ask), "{out:?}");
    assert_eq!(out[1], None, "an answer is no candidate");
}

#[test]
fn a_bots_message_is_no_candidate() {
    let rows = [
        ("feed", "[acme/cli] Issue opened #41: How do I configure the proxy for the cli?", 0, "a"),
        ("alice", "how do I configure the proxy for the cli?", 60, "b"),
    ];
    let mut messages: Vec<Message> = rows.iter().enumerate().map(|(i, r)| msg(i, r.0, r.1, r.2)).collect();
    let ids: Vec<String> = rows.iter().map(|r| r.3.to_string()).collect();
    let convs = conversations_from_ids(&messages, &ids);
    let q: Vec<Option<f32>> = messages.iter().map(question).collect();
    let out = roles(&messages, &convs, &q, &AskOptions::default());
    assert_eq!(role(&out[0]), Some(Role::Ask), "the feed post reads as an ask: {out:?}");
    messages[0].bot = true;
    let out = roles(&messages, &convs, &q, &AskOptions::default());
    assert_eq!(out[0], None, "{out:?}");
    assert_eq!(role(&out[1]), Some(Role::Ask));
}

#[test]
fn a_helpers_clarification_and_back_channel() {
    let out = run(&[
        ("alice", "how do I mount a volume in docker compose?", 0, "a"),
        ("bob", "alice: what OS are you on?", 1, "a"),
        ("alice", "ubuntu 22.04", 2, "a"),
        ("bob", "add a volumes: section under the service", 3, "a"),
        ("alice", "huh?", 4, "a"),
    ]);
    assert_eq!(role(&out[0]), Some(Role::Ask), "{out:?}");
    assert_eq!(role(&out[1]), Some(Role::Clarification), "{out:?}");
    assert_eq!(role(&out[4]), Some(Role::Backchannel), "{out:?}");
    assert!(out[0].unwrap().ask_probability > out[1].unwrap().ask_probability);
}

#[test]
fn code_containing_a_question_mark_is_not_an_ask() {
    let out = run(&[
        ("carol", "[<-CODE->] const port = env.PORT ? Number(env.PORT) : 8080;", 0, "c"),
        ("dave", "nice", 1, "c"),
    ]);
    assert_ne!(role(&out[0]), Some(Role::Ask), "{out:?}");
}

#[test]
fn a_repeated_ask_is_an_ask_each_time() {
    let text = "anyone know why my container keeps restarting?";
    let out = run(&[(("erin"), text, 0, "e1"), ("erin", text, 30, "e2"), ("erin", text, 60, "e3")]);
    assert!(out.iter().all(|r| role(r) == Some(Role::Ask)), "{out:?}");
}

#[test]
fn only_candidates_get_a_role_and_the_threshold_decides_the_ask() {
    let rows = [
        ("alice", "docker build fails with no space left on device", 0, "a"),
        ("bob", "prune your images", 1, "a"),
        ("bob", "docker system prune -a", 1, "a"),
    ];
    let messages: Vec<Message> = rows.iter().enumerate().map(|(i, r)| msg(i, r.0, r.1, r.2)).collect();
    let ids: Vec<String> = rows.iter().map(|r| r.3.to_string()).collect();
    let convs = conversations_from_ids(&messages, &ids);
    let q: Vec<Option<f32>> = messages.iter().map(question).collect();
    let strict = roles(&messages, &convs, &q, &AskOptions { threshold: 1.0, ..Default::default() });
    assert!(strict[0].is_some() && strict[1..].iter().all(Option::is_none));
    assert_ne!(role(&strict[0]), Some(Role::Ask));
    let loose = roles(&messages, &convs, &q, &AskOptions { threshold: 0.0, ..Default::default() });
    assert_eq!(role(&loose[0]), Some(Role::Ask));
}

#[test]
fn a_helpers_question_the_linker_missed_is_no_ask() {
    // bob's question to alice starts a conversation of its own here (as when the linker misses
    // the link): addressed to someone, about their setup, it still reads as a clarification
    let out = run(&[
        ("alice", "my containers lose their network after a reboot", 0, "a"),
        ("bob", "alice: is your docker daemon running? what do you see in docker ps?", 30, "b"),
        ("carol", "how do I limit the memory of a container in compose?", 31, "c"),
    ]);
    assert_eq!(role(&out[1]), Some(Role::Clarification), "{out:?}");
    assert_eq!(role(&out[2]), Some(Role::Ask), "{out:?}");
}

#[test]
fn a_repeated_request_is_an_ask_again() {
    let rows = [
        ("alice", "what package is gstreamer-interfaces in?", 0),
        ("bob", "anyone seen the new release notes?", 1),
        // the repeat, twenty minutes on, nobody having answered
        ("alice", "what package is gstreamer interfaces in??", 20),
        // the same words from someone else: their own role stands
        ("carol", "what package is gstreamer-interfaces in?", 21),
        // alice again, but another question
        ("alice", "is the frequency governor a module?", 22),
        // too late to be a repeat of the first
        ("alice", "what package is gstreamer-interfaces in?", 200),
        // too short to tell a repeat from a reaction
        ("alice", "gstreamer interfaces?", 23),
    ];
    let messages: Vec<Message> = rows.iter().enumerate().map(|(i, r)| msg(i, r.0, r.1, r.2)).collect();
    let other = Some(RoleOut { role: Role::Other, ask_probability: 0.2 });
    let mut out = vec![Some(RoleOut { role: Role::Ask, ask_probability: 0.9 }); 1];
    out.extend(std::iter::repeat_n(other, rows.len() - 1));
    out[2] = Some(RoleOut { role: Role::Clarification, ask_probability: 0.1 });
    repeated_asks(&messages, &mut out);
    let roles: Vec<Option<Role>> = out.iter().map(role).collect();
    assert_eq!(
        roles,
        [Role::Ask, Role::Other, Role::Ask, Role::Other, Role::Other, Role::Other, Role::Other].map(Some).to_vec()
    );
    assert_eq!(out[2].unwrap().ask_probability, 0.1, "the model's P(ask) is kept");

    // the input order does not matter, only the time; a message with no role stays without one
    let mut reversed: Vec<Message> = messages[..3].iter().rev().cloned().collect();
    reversed.push(msg(9, "alice", "what package is gstreamer-interfaces in?", 30));
    let mut out = vec![other, other, Some(RoleOut { role: Role::Ask, ask_probability: 0.9 }), None];
    repeated_asks(&reversed, &mut out);
    assert_eq!(
        out.iter().map(role).collect::<Vec<_>>(),
        vec![Some(Role::Ask), Some(Role::Other), Some(Role::Ask), None]
    );
}
