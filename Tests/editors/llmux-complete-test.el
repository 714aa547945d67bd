;;; llmux-complete-test.el --- ERT tests of editors/emacs/llmux-complete.el -*- lexical-binding: t; -*-

;; EditorClientTests runs it against llmuxd and the mock, whose mock/coder echoes the prompt
;; word by word, slowly, and mock/endless streams for 30 s:
;;   emacs --batch -Q -L editors/emacs -l Tests/editors/llmux-complete-test.el -f ert-run-tests-batch-and-exit

;;; Code:

(require 'ert)
(require 'llmux-complete)

(defun llmux-complete-test--wait (predicate &optional seconds)
  "Process llmuxd's output until PREDICATE holds or SECONDS (default 10) pass."
  (let ((deadline (+ (float-time) (or seconds 10))))
    (while (and (not (funcall predicate)) (< (float-time) deadline))
      (accept-process-output llmux--process 0.02))
    (funcall predicate)))

(ert-deftest llmux-complete-burst-shows-the-last-answer-and-accepts-it ()
  (with-temp-buffer
    (rename-buffer "llmux-complete-burst" t)
    (let ((llmux-complete-model "mock/coder")
          (llmux-complete-debounce-ms 0)
          ids)
      (llmux-complete-mode 1)
      (insert "g()")
      (backward-char 1)
      ;; A burst of typing: each keystroke asks again, superseding the request before.
      (dotimes (_ 5)
        (insert "b")
        (push (llmux-complete-trigger) ids)
        ;; A pause between keystrokes (accept-process-output alone returns at the first output).
        (let ((until (+ (float-time) 0.1)))
          (while (< (float-time) until) (accept-process-output llmux--process 0.01))))
      (should (= (length (delete-dups (copy-sequence ids))) 5))
      (should (llmux-complete-test--wait (lambda () (equal (llmux-complete-ghost-text) "echo: g(bbbbb"))))
      (should (equal (buffer-string) "g(bbbbb)"))
      (should (llmux-complete-accept))
      (should (equal (buffer-string) "g(bbbbbecho: g(bbbbb)"))
      (should (equal (llmux-complete-ghost-text) "")))))

(ert-deftest llmux-complete-dismiss-cancels-a-streaming-completion ()
  (with-temp-buffer
    (rename-buffer "llmux-complete-dismiss" t)
    (let ((llmux-complete-model "mock/endless")
          (llmux-complete-debounce-ms 0))
      (llmux-complete-mode 1)
      (insert "slowly")
      (llmux-complete-trigger)
      (should (llmux-complete-test--wait (lambda () (> (length (llmux-complete-ghost-text)) 0))))
      (llmux-complete-dismiss)
      (should (equal (llmux-complete-ghost-text) ""))
      (should (equal (buffer-string) "slowly"))
      (should (llmux-complete-test--wait (lambda () (not (llmux-complete-running-p))) 5)))))

;;; llmux-complete-test.el ends here
