//! The household ledger (masked, with history and conflicts) and the indicators.

use super::*;

#[derive(Deserialize, Default)]
pub(super) struct HouseholdsQ {
    q: Option<String>,
    grid: Option<String>,
    offset: Option<u32>,
    limit: Option<u32>,
}

pub(super) async fn households(
    State(state): State<AppState>,
    headers: HeaderMap,
    Params(q): Params<HouseholdsQ>,
) -> R<Json<Value>> {
    let scope = session(&state, &headers, false).await?;
    let district = state.console.clone();
    let page = run(move || {
        let query = HouseholdQuery {
            text: q.q.filter(|t| !t.trim().is_empty()),
            grid_ids: q.grid.filter(|g| !g.is_empty()).map(|g| vec![g]),
            offset: q.offset.unwrap_or(0) as usize,
            limit: q.limit.unwrap_or(50) as usize,
            ..Default::default()
        };
        district.console_households(&scope, &query)
    })
    .await?;
    Ok(masked(page))
}

pub(super) async fn household(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> R<Json<Value>> {
    let scope = session(&state, &headers, false).await?;
    let id = doc_id(&id)?;
    let district = state.console.clone();
    let d = run(move || district.console_household(&scope, id)).await?;
    Ok(masked(d))
}

#[derive(Deserialize)]
pub(super) struct ResolveBody {
    path: Vec<String>,
    choice: usize,
}

pub(super) async fn resolve(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: String,
) -> R<Json<Value>> {
    let scope = session(&state, &headers, true).await?;
    let id = doc_id(&id)?;
    let b: ResolveBody = json_body(&body, "{path, choice}")?;
    let district = state.console.clone();
    let d = run(move || {
        let author = author(&*district, &scope)?;
        district.resolve_conflict(&scope, id, &b.path, b.choice, author, now_ms())?;
        district.console_household(&scope, id)
    })
    .await?;
    Ok(masked(d))
}

#[derive(Deserialize, Default)]
pub(super) struct IndicatorsQ {
    street: Option<String>,
    community: Option<String>,
    grid: Option<String>,
    from: Option<i64>,
    to: Option<i64>,
}

pub(super) async fn indicators(
    State(state): State<AppState>,
    headers: HeaderMap,
    Params(q): Params<IndicatorsQ>,
) -> R<Json<Value>> {
    let scope = session(&state, &headers, false).await?;
    let (from, to) = (
        params::time_ms("from", q.from)?,
        params::time_ms("to", q.to)?,
    );
    let district = state.console.clone();
    let areas = state.store.clone();
    let started = std::time::Instant::now();
    let out = run(move || {
        let nonempty = |s: &Option<String>| s.clone().filter(|x| !x.is_empty());
        let wanted = match (
            nonempty(&q.grid),
            nonempty(&q.community),
            nonempty(&q.street),
        ) {
            (Some(g), _, _) => Some(vec![g]),
            (None, c, s) if c.is_some() || s.is_some() => {
                let Some(tree) = areas.area_tree()? else {
                    return Ok(district.scoped_indicators(
                        &scope,
                        Some(vec![]),
                        from,
                        to,
                        now_ms(),
                    )?);
                };
                Some(
                    tree.grids
                        .iter()
                        .filter(|g| {
                            let street = tree
                                .communities
                                .iter()
                                .find(|x| x.code == g.community_code)
                                .map(|x| x.street_code.clone());
                            c.as_ref().is_none_or(|c| *c == g.community_code)
                                && s.as_ref().is_none_or(|s| Some(s) == street.as_ref())
                        })
                        .map(|g| g.id.clone())
                        .collect(),
                )
            }
            _ => None,
        };
        Ok(district.scoped_indicators(&scope, wanted, from, to, now_ms())?)
    })
    .await?;
    let mut v = json!(out);
    v["server_ms"] = json!(started.elapsed().as_millis() as u64);
    Ok(Json(v))
}
