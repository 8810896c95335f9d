//! A publisher's SSM parameters, read through the same assumed role as its exports: GetParameters
//! for up to ten references a call, and GetParametersByPath for names only, on the way to a failure.

use aws_sdk_ssm::Client;
use remote_exports_core::{Parameter, ParameterRef, ReadError, ReadStep};

use crate::publisher_accounts::classify;

/// GetParametersByPath answers at most ten parameters a page.
const NAMES_PER_PAGE: i32 = 10;

/// Near matches for a missing name read at most this many pages (100 names) under its path; a
/// listing (`recursive`) reads every page.
const MAX_SUGGESTION_PAGES: usize = 10;

/// One GetParameters call; each parameter found comes with the reference in `batch` it answers (a
/// batch holds one reference per parameter, so a name or an ARN identifies it).
pub(crate) async fn get_parameters(
    client: &Client,
    batch: &[ParameterRef],
    decrypt: bool,
) -> Result<Vec<(ParameterRef, Parameter)>, ReadError> {
    let names = batch.iter().map(|reference| reference.as_str().to_owned()).collect();
    let output = client
        .get_parameters()
        .set_names(Some(names))
        .with_decryption(decrypt)
        .send()
        .await
        .map_err(|error| classify(error, ReadStep::GetParameters))?;
    let found = output.parameters.unwrap_or_default().into_iter().filter_map(|parameter| {
        let parameter = Parameter {
            name: parameter.name?,
            arn: parameter.arn.unwrap_or_default(),
            kind: parameter.r#type.map(|kind| kind.as_str().to_owned()).unwrap_or_default(),
            value: parameter.value.unwrap_or_default(),
            version: parameter.version,
            modified_ms: parameter.last_modified_date.and_then(|date| date.to_millis().ok()).unwrap_or(0),
        };
        let reference = batch.iter().find(|reference| parameter.answers(reference))?;
        Some((reference.clone(), parameter))
    });
    Ok(found.collect())
}

/// The names under `path` (at any depth when `recursive`), never decrypted; the values are dropped as
/// they arrive.
pub(crate) async fn names_under(client: &Client, path: &str, recursive: bool) -> Result<Vec<String>, ReadError> {
    let request = client
        .get_parameters_by_path()
        .path(path)
        .recursive(recursive)
        .with_decryption(false)
        .max_results(NAMES_PER_PAGE);
    let mut pages = request.into_paginator().send();
    let mut names = Vec::new();
    let mut read = 0;
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| classify(error, ReadStep::GetParametersByPath))?;
        names.extend(page.parameters.unwrap_or_default().into_iter().filter_map(|parameter| parameter.name));
        read += 1;
        if !recursive && read == MAX_SUGGESTION_PAGES {
            break;
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ssm::operation::get_parameters::GetParametersOutput;
    use aws_sdk_ssm::types::{Parameter as SsmParameter, ParameterType};
    use aws_smithy_mocks::{mock, mock_client};

    fn reference(text: &str) -> ParameterRef {
        ParameterRef::parse(text).unwrap()
    }

    #[tokio::test]
    async fn each_answer_is_matched_to_the_reference_it_answers_by_name_or_arn() {
        let arn = "arn:aws:ssm:eu-west-1:333333333333:parameter/shared/vpc-id";
        let answer = GetParametersOutput::builder()
            .parameters(
                SsmParameter::builder()
                    .name("/booking/topic")
                    .arn("arn:aws:ssm:eu-west-1:222222222222:parameter/booking/topic")
                    .r#type(ParameterType::String)
                    .value("arn:aws:sns:eu-west-1:222222222222:topic")
                    .version(3)
                    .selector(":3")
                    .build(),
            )
            .parameters(
                SsmParameter::builder()
                    .name(arn)
                    .arn(arn)
                    .r#type(ParameterType::StringList)
                    .value("a,b")
                    .version(1)
                    .build(),
            )
            .invalid_parameters("/booking/missing")
            .build();
        let rule = mock!(Client::get_parameters)
            .match_requests(|request| request.names().len() == 3 && request.with_decryption() == Some(false))
            .then_output(move || answer.clone());
        let client = mock_client!(aws_sdk_ssm, [&rule]);
        let batch = [reference("/booking/topic:3"), reference(arn), reference("/booking/missing")];
        let found = get_parameters(&client, &batch, false).await.unwrap();
        let pairs: Vec<(&str, &str, i64)> =
            found.iter().map(|(r, p)| (r.as_str(), p.kind.as_str(), p.version)).collect();
        assert_eq!(pairs, [("/booking/topic:3", "String", 3), (arn, "StringList", 1)]);
    }
}
