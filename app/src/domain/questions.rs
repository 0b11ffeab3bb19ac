//! Questions a policy asks at request time, and the requester's answers checked against
//! them (the policy form that defines the questions is in `drafts::policy`).

use super::drafts::parse_text;
use super::error::Validation;
use super::AppError;
use serde::{Deserialize, Serialize};

/// Longest answer to a custom question.
pub const MAX_ANSWER_CHARS: usize = 2_000;

/// A question a policy asks the requester, stored in `assignment_policy.questions_json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    pub text: String,
    /// Empty for a free-text answer; otherwise the answer is one of these.
    #[serde(default)]
    pub choices: Vec<String>,
    #[serde(default)]
    pub required: bool,
}

/// A question with the requester's answer, stored in `access_request.answers_json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub question: String,
    pub answer: String,
}

impl Question {
    pub fn check_answer(&self, input: &str) -> Result<String, String> {
        let answer = parse_text(input, MAX_ANSWER_CHARS)?;
        if answer.is_empty() {
            return if self.required {
                Err("Answer this question.".into())
            } else {
                Ok(answer)
            };
        }
        if !self.choices.is_empty() && !self.choices.contains(&answer) {
            return Err("Choose one of the answers offered.".into());
        }
        Ok(answer)
    }
}

/// Checks the answers of a request form (`answers[i]` is the answer to question i), each
/// against its field `answers[i]`.
pub fn check_answers(questions: &[Question], answers: &[String]) -> Result<Vec<Answer>, AppError> {
    let mut v = Validation::new();
    let mut checked_answers = Vec::new();
    for (index, question) in questions.iter().enumerate() {
        let input = answers.get(index).map_or("", String::as_str);
        if let Some(answer) = v.check(&format!("answers[{index}]"), question.check_answer(input)) {
            if !answer.is_empty() {
                checked_answers.push(Answer {
                    question: question.text.clone(),
                    answer,
                });
            }
        }
    }
    v.finish()?;
    Ok(checked_answers)
}

/// The request form's field (id and error key) for the answer to question `index` of
/// policy `policy_id`.
pub fn answer_field(policy_id: i64, index: usize) -> String {
    format!("answer-{policy_id}-{index}")
}
