//! Looking items up: every item of an app page by page, and the items whose fields
//! equal a row's (docs/platform.md §6). Built on [`Client::list_items`].

use elma_import_contract::schema::Field;
use elma_import_contract::values;
use elma_import_contract::wire::{self, ListFilter, ListRequest};

use crate::client::{Client, Map};
use crate::error::ClientError;
use crate::AppRef;

impl Client {
    /// Every active item of an app matching `filter` (docs/platform.md §6), fetched in pages of 100
    /// until the answer's `total` is reached (or, when an answer gives no `total`, until a
    /// page comes back short). Items are kept once by `__id`, should paging shift while the
    /// app changes. `None` lists every item.
    ///
    /// The platform's text conditions match substrings, case-insensitively: what comes back
    /// is a superset of the exact matches. Use [`Client::find_items`] for an exact look-up.
    pub async fn list_all(&self, app: &AppRef, filter: Option<&ListFilter>) -> Result<Vec<Map>, ClientError> {
        let mut items: Vec<Map> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut from = 0u64;
        loop {
            let request =
                ListRequest { active: true, from, size: wire::MAX_LIST_SIZE, filter: filter.cloned() };
            let page = self.list_items(app, &request).await?;
            let got = page.result.len() as u64;
            let mut new = 0u64;
            for item in page.result {
                let id = item.get("__id").map(|id| id.to_string());
                if id.as_ref().is_none_or(|id| seen.insert(id.clone())) {
                    new += 1;
                    items.push(item);
                }
            }
            from += got;
            let done = match page.total {
                0 => got < u64::from(wire::MAX_LIST_SIZE),
                total => from >= total,
            };
            if got == 0 || done {
                return Ok(items);
            }
            if new == 0 {
                return Err(ClientError::InvalidRequest {
                    request: format!("POST {}", wire::paths::list_items(&app.namespace, &app.code)),
                    reason: format!(
                        "the page at `from` {} repeats only items already listed: the server seems \
                         to ignore `from`, so the items cannot all be listed",
                        from - got
                    ),
                });
            }
        }
    }

    /// The app's items whose values of `fields` equal those of `expected` exactly (see
    /// [`values::same_value`]): one §6 `tf` filter of the conditions the platform can apply
    /// ([`values::tf_condition`]; text as a substring, numbers and date-times as intervals),
    /// every page of its matches, then the exact comparison on this side. `Deal 7` is not
    /// matched by `Deal 7a` or `deal 7`.
    ///
    /// `fields = [key]` looks an item up by key; all imported fields look up a whole row.
    /// When none of `fields` can be filtered on (e-mail, phone, category…), every item of the
    /// app is listed and compared.
    pub async fn find_items(
        &self,
        app: &AppRef,
        fields: &[&Field],
        expected: &Map,
    ) -> Result<Vec<Map>, ClientError> {
        let filter = ListFilter::from_tf(values::tf_for(fields, expected));
        let mut items = self.list_all(app, filter.as_ref()).await?;
        items.retain(|item| values::item_matches(fields, expected, item));
        Ok(items)
    }

    /// [`Client::find_items`] for many rows at once, answers in the order of `expected`.
    /// Rows that give a `tf` filter are looked up one by one, `in_flight` at a time; rows
    /// that give none (a key the platform cannot filter on, such as an e-mail) share one
    /// listing of the whole app instead of one each.
    pub async fn find_each(
        &self,
        app: &AppRef,
        fields: &[&Field],
        expected: &[Map],
        in_flight: usize,
    ) -> Result<Vec<Vec<Map>>, ClientError> {
        use futures_util::StreamExt;
        let unfiltered = expected.iter().any(|e| values::tf_for(fields, e).is_empty());
        let everything = if unfiltered { self.list_all(app, None).await? } else { Vec::new() };
        // The look-ups are made up front as boxed `Send` futures: made lazily by a closure
        // over borrowed rows, they are not provably `Send` (a compiler limitation with
        // higher-ranked lifetimes), and callers spawn futures that wait on them.
        type Look<'a> =
            std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<Map>, ClientError>> + Send + 'a>>;
        let everything = &everything;
        let looks: Vec<Look<'_>> = expected
            .iter()
            .map(|e| -> Look<'_> {
                Box::pin(async move {
                    if values::tf_for(fields, e).is_empty() {
                        Ok(everything
                            .iter()
                            .filter(|item| values::item_matches(fields, e, item))
                            .cloned()
                            .collect())
                    } else {
                        self.find_items(app, fields, e).await
                    }
                })
            })
            .collect();
        let looks = futures_util::stream::iter(looks).buffered(in_flight.max(1)).collect::<Vec<_>>().await;
        looks.into_iter().collect()
    }
}
