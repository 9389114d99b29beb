//! Bench helper (`npm run bench -- prose`): what reducing pastes to placeholders
//! (`prose::reduce`) before the classifier's encoder would save on a corpus file of
//! bench/realistic.js (one JSON array of messages a line). Counts encoder tokens of every message
//! and of those the cascade sends to the encoder, raw and reduced; times the encoder on those
//! messages both ways, and the whole classifier both ways. Prints one JSON line.
//!
//!     cargo bench --no-default-features --bench prose_tokens -- <corpus.jsonl>

use std::time::Instant;

use question_insights::classify::{ClassifyOptions, Stage, DEFAULT_THRESHOLD};
use question_insights::embed::EmbedOptions;
use question_insights::{models, prose};
use serde_json::{json, Value};

fn main() {
    let path = std::env::args().skip(1).find(|a| !a.starts_with("--")).expect("usage: prose_tokens <corpus.jsonl>");
    let file = std::fs::read_to_string(&path).expect("read the corpus file");
    let texts: Vec<String> = file
        .lines()
        .filter(|l| !l.is_empty())
        .flat_map(|l| serde_json::from_str::<Vec<Value>>(l).expect("a page of messages"))
        .map(|m| m["content"].as_str().unwrap_or_default().to_string())
        .collect();
    let engine = models::engine().expect("models (run `npm run setup` first)");
    let t = Instant::now();
    let reduced: Vec<String> = texts.iter().map(|t| prose::reduce(t)).collect();
    let reduce_seconds = t.elapsed().as_secs_f64();
    let raw_refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let reduced_refs: Vec<&str> = reduced.iter().map(String::as_str).collect();

    let tokens = |xs: &[&str]| engine.embedder.tokenize(xs, usize::MAX / 16).expect("tokenize");
    let (raw_tokens, reduced_tokens) = (tokens(&raw_refs), tokens(&reduced_refs));
    let opts = ClassifyOptions::default();
    let cap = opts.max_tokens;

    // warm up the sessions, then the whole classifier on raw and on reduced text
    let _ =
        engine.classifier.classify(&engine.embedder, &raw_refs[..200.min(raw_refs.len())], &opts, &mut |_, _| Ok(()));
    let classify = |xs: &[&str]| {
        let t = Instant::now();
        let out = engine.classifier.classify(&engine.embedder, xs, &opts, &mut |_, _| Ok(())).expect("classify");
        (out, t.elapsed().as_secs_f64())
    };
    let (raw_out, raw_classify_s) = classify(&raw_refs);
    let (reduced_out, reduced_classify_s) = classify(&reduced_refs);
    let flips = raw_out
        .iter()
        .zip(&reduced_out)
        .filter(|(a, b)| (a.confidence >= DEFAULT_THRESHOLD) != (b.confidence >= DEFAULT_THRESHOLD))
        .count();
    let questions = raw_out.iter().filter(|c| c.confidence >= DEFAULT_THRESHOLD).count();

    // the encoder stage alone, on the messages the cascade sends to it, raw and reduced
    let encoder: Vec<usize> = (0..texts.len()).filter(|&i| raw_out[i].stage == Stage::Encoder).collect();
    let eopts = EmbedOptions { max_tokens: cap, batch_size: opts.batch_size, ..Default::default() };
    let run = |xs: &[&str], toks: &[Vec<u32>]| {
        let sub: Vec<&str> = encoder.iter().map(|&i| xs[i]).collect();
        let t = Instant::now();
        engine.embedder.embed(&sub, eopts).expect("embed");
        let seconds = t.elapsed().as_secs_f64();
        let all: usize = encoder.iter().map(|&i| toks[i].len()).sum();
        let capped: usize = encoder.iter().map(|&i| toks[i].len().min(cap)).sum();
        json!({ "tokens": all, "cappedTokens": capped, "seconds": seconds })
    };
    let raw = run(&raw_refs, &raw_tokens);
    let red = run(&reduced_refs, &reduced_tokens);
    let sum = |t: &[Vec<u32>]| t.iter().map(Vec::len).sum::<usize>();
    let sum_capped = |t: &[Vec<u32>]| t.iter().map(|x| x.len().min(cap)).sum::<usize>();
    let encoder_when_reduced = reduced_out.iter().filter(|c| c.stage == Stage::Encoder).count();
    println!(
        "{}",
        json!({
            "messages": texts.len(),
            "cap": cap,
            "allRaw": sum(&raw_tokens),
            "allReduced": sum(&reduced_tokens),
            "allRawCapped": sum_capped(&raw_tokens),
            "allReducedCapped": sum_capped(&reduced_tokens),
            "encoderMessages": encoder.len(),
            "encoderMessagesWhenReduced": encoder_when_reduced,
            "raw": raw,
            "reduced": red,
            "reduceSeconds": reduce_seconds,
            "classifyRawSeconds": raw_classify_s,
            "classifyReducedSeconds": reduced_classify_s,
            "questions": questions,
            "flips": flips,
            "intraThreads": engine.intra_threads,
        })
    );
}
