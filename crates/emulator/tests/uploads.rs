//! Parted uploads (docs/platform.md §1, §2): 206 for non-final parts, 200 at the end, and each 400.

use crate::common;

use std::time::Duration;

use common::{config, start};
use elma_import_contract::wire::{content_range, MIN_PART};
use reqwest::StatusCode;

/// A valid `crm.contacts` CSV a little over `min` bytes (long comments).
fn big_csv(min: usize) -> Vec<u8> {
    let mut s = String::from("Name,Comment\n");
    let comment = "x".repeat(990);
    let mut i = 0;
    while s.len() < min {
        i += 1;
        s.push_str(&format!("Person {i},{comment}\n"));
    }
    s.into_bytes()
}

#[tokio::test]
async fn parted_temporary_upload_then_import_of_the_whole_file() {
    let server = start(config()).await;
    let file = big_csv(MIN_PART as usize * 2 + 1000);
    let size = file.len() as u64;
    let part = MIN_PART;
    let hash = common::hash();
    let mut start_at = 0;
    while start_at < size {
        let end = (start_at + part).min(size);
        let (code, body) = server
            .upload_temp(
                &hash,
                file[start_at as usize..end as usize].to_vec(),
                Some(content_range(start_at, end, size)),
            )
            .await;
        let expect = if end == size { StatusCode::OK } else { StatusCode::PARTIAL_CONTENT };
        assert_eq!(code, expect, "part {start_at}-{end}: {body}");
        assert_eq!(body["success"], true);
        start_at = end;
    }
    let rows = file.iter().filter(|&&b| b == b'\n').count() as u64 - 1;
    let (_, body) = server.start_import("crm/contacts", &hash, false).await;
    let id = body["result"]["id"].as_str().unwrap().to_string();
    let result = server.wait_final("crm/contacts", &id, Duration::from_secs(60)).await;
    assert_eq!(result["status"], "done", "{result}");
    assert_eq!(result["imported"].as_u64(), Some(rows));
}

#[tokio::test]
async fn each_part_rule_answers_400_with_the_platform_code() {
    let server = start(config()).await;
    let size = MIN_PART * 2 + 10;
    let small = vec![b'a'; 1024];
    let part = vec![b'a'; MIN_PART as usize];
    let h = common::hash();

    // A non-final part below 5 MiB.
    let (code, body) = server.upload_temp(&h, small.clone(), Some(content_range(0, 1024, size))).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("EntityTooSmall"), "{body}");
    assert_eq!(body["success"], false);

    // A later part with no upload begun.
    let (code, body) =
        server.upload_temp(&h, part.clone(), Some(content_range(MIN_PART, 2 * MIN_PART, size))).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("NoSuchUpload"), "{body}");

    // Body length differs from the range.
    let (code, body) = server.upload_temp(&h, small.clone(), Some(content_range(0, 2000, 2000))).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("InvalidPart"), "{body}");

    // Begin properly.
    let (code, _) = server.upload_temp(&h, part.clone(), Some(content_range(0, MIN_PART, size))).await;
    assert_eq!(code, StatusCode::PARTIAL_CONTENT);

    // Skipping a part.
    let (code, body) =
        server.upload_temp(&h, vec![b'a'; 10], Some(content_range(2 * MIN_PART, size, size))).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("InvalidPartOrder"), "{body}");

    // A middle part of another size.
    let (code, body) = server
        .upload_temp(
            &h,
            vec![b'a'; MIN_PART as usize + 5],
            Some(content_range(MIN_PART, 2 * MIN_PART + 5, size)),
        )
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("InvalidPart"), "{body}");

    // A size that changed.
    let (code, body) =
        server.upload_temp(&h, part.clone(), Some(content_range(MIN_PART, 2 * MIN_PART, size + 1))).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("InvalidPart"), "{body}");

    // A garbled Content-Range.
    let (code, _) = server.upload_temp(&h, part.clone(), Some("bytes x-y/z".into())).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);

    // Starting an import of an unfinished upload.
    let (code, body) = server.start_import("crm/contacts", &h, false).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("not complete"), "{body}");

    // The rest, with a retried (repeated) middle part, completes.
    for _ in 0..2 {
        let (code, _) =
            server.upload_temp(&h, part.clone(), Some(content_range(MIN_PART, 2 * MIN_PART, size))).await;
        assert_eq!(code, StatusCode::PARTIAL_CONTENT);
    }
    let (code, _) =
        server.upload_temp(&h, vec![b'a'; 10], Some(content_range(2 * MIN_PART, size, size))).await;
    assert_eq!(code, StatusCode::OK);
    // A retry of the final part after completion is answered 200 again.
    let (code, _) =
        server.upload_temp(&h, vec![b'a'; 10], Some(content_range(2 * MIN_PART, size, size))).await;
    assert_eq!(code, StatusCode::OK);

    // A missing hash.
    let resp = server
        .http
        .post(format!("{}/disk/file/upload", server.base()))
        .bearer_auth(common::TOKEN)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn directory_upload_answers_the_stored_file_and_renames_clashes() {
    let server = start(config()).await;
    let body = b"Name\nA\n";
    let (code, first) = server.upload_dir("dir-1", &common::hash(), "data.csv", body, None).await;
    assert_eq!(code, StatusCode::OK, "{first}");
    assert_eq!(first["file"]["__name"], "data.csv");
    assert_eq!(first["file"]["size"], body.len());
    assert_eq!(first["file"]["__id"].as_str().unwrap().len(), 36);
    let hash = common::hash();
    let (_, second) = server
        .upload_dir(
            "dir-1",
            &hash,
            "data.csv",
            body,
            Some(content_range(0, body.len() as u64, body.len() as u64)),
        )
        .await;
    assert_eq!(second["file"]["__name"], "data (1).csv");
    assert_ne!(second["file"]["__id"], first["file"]["__id"]);
    let (_, other_dir) = server.upload_dir("dir-2", &common::hash(), "data.csv", body, None).await;
    assert_eq!(other_dir["file"]["__name"], "data.csv");

    // A directory file imports by its hash like a temporary one.
    let (_, started) = server.start_import("crm/contacts", &hash, false).await;
    let id = started["result"]["id"].as_str().unwrap().to_string();
    assert_eq!(server.wait_final("crm/contacts", &id, Duration::from_secs(10)).await["imported"], 1);

    // A directory upload must be multipart.
    let resp = server
        .http
        .post(format!("{}/disk/directory/dir-1/upload?hash={}", server.base(), common::hash()))
        .bearer_auth(common::TOKEN)
        .body("raw")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn parted_directory_upload_keeps_the_first_parts_name() {
    let server = start(config()).await;
    let file = big_csv(MIN_PART as usize + 100);
    let size = file.len() as u64;
    let hash = common::hash();
    let (code, _) = server
        .upload_dir("d", &hash, "big.csv", &file[..MIN_PART as usize], Some(content_range(0, MIN_PART, size)))
        .await;
    assert_eq!(code, StatusCode::PARTIAL_CONTENT);
    let (code, body) = server
        .upload_dir(
            "d",
            &hash,
            "big.csv",
            &file[MIN_PART as usize..],
            Some(content_range(MIN_PART, size, size)),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["file"]["__name"], "big.csv");
    assert_eq!(body["file"]["size"], size);
}
