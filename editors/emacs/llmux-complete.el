;;; llmux-complete.el --- Inline code completion from llmuxd as ghost text -*- lexical-binding: t; -*-

;; Part of llmux.  Requires llmux.el.

;;; Commentary:

;; `llmux-complete-mode' asks llmuxd for a fill-in-the-middle completion of the text around
;; point after each insertion or deletion, with `supersede' set per buffer: the daemon cancels
;; the previous request at once (closing its upstream connection), and `llmux-complete-debounce-ms'
;; lets it wait before asking an upstream at all.  The answer shows as an overlay's
;; `after-string' at point; TAB inserts it, C-g, any other command or moving away removes it and
;; cancels a request still streaming.

;;; Code:

(require 'llmux)

(defgroup llmux-complete nil
  "Inline completion from llmuxd."
  :group 'llmux)

(defcustom llmux-complete-model nil
  "A model or route that serves completions; nil uses the daemon's default model."
  :type '(choice (const nil) string))

(defcustom llmux-complete-debounce-ms 150
  "Milliseconds the daemon waits before asking an upstream.
A request superseded meanwhile costs nothing."
  :type 'integer)

(defcustom llmux-complete-max-tokens 64
  "The most tokens a completion may have."
  :type 'integer)

(defcustom llmux-complete-context-chars 8000
  "Characters before and after point sent with each request."
  :type 'integer)

(defvar-local llmux-complete--id nil "The id of this buffer's latest request.")
(defvar-local llmux-complete--text "" "The latest answer so far.")
(defvar-local llmux-complete--overlay nil "The overlay that shows the answer.")
(defvar-local llmux-complete--running nil "Whether the latest request is still running.")

(defun llmux-complete--clear ()
  "Remove the ghost text."
  (when (overlayp llmux-complete--overlay) (delete-overlay llmux-complete--overlay))
  (setq llmux-complete--overlay nil llmux-complete--text ""))

(defun llmux-complete--render ()
  "Show `llmux-complete--text' at the overlay's place."
  (when (and (overlayp llmux-complete--overlay) (> (length llmux-complete--text) 0))
    (let ((ghost (propertize llmux-complete--text 'face 'shadow)))
      ;; The cursor stays before the ghost text.
      (put-text-property 0 1 'cursor t ghost)
      (overlay-put llmux-complete--overlay 'after-string ghost))))

(defun llmux-complete-ghost-text ()
  "The ghost text shown in this buffer, or \"\"."
  (if (overlayp llmux-complete--overlay) llmux-complete--text ""))

(defun llmux-complete-running-p ()
  "Whether this buffer's latest request is still running."
  llmux-complete--running)

(defun llmux-complete-dismiss ()
  "Remove the ghost text and cancel its request if it still runs."
  (interactive)
  (when (and llmux-complete--id llmux-complete--running)
    (llmux-cancel-id llmux-complete--id))
  (setq llmux-complete--running nil)
  (llmux-complete--clear))

(defun llmux-complete-trigger ()
  "Ask for a completion at point, superseding this buffer's previous request.
Returns the request id."
  (interactive)
  (llmux-complete--clear)
  (let* ((buffer (current-buffer))
         (id (llmux-new-id "complete"))
         (frame `((type . "complete") (id . ,id)
                  (prefix . ,(buffer-substring-no-properties (max (point-min) (- (point) llmux-complete-context-chars)) (point)))
                  (suffix . ,(buffer-substring-no-properties (point) (min (point-max) (+ (point) llmux-complete-context-chars))))
                  (supersede . ,(format "emacs-buffer-%s" (buffer-name)))
                  (debounce_ms . ,llmux-complete-debounce-ms)
                  (max_tokens . ,llmux-complete-max-tokens)
                  ,@(when llmux-complete-model `((model . ,llmux-complete-model))))))
    (setq llmux-complete--id id
          llmux-complete--running t
          llmux-complete--overlay (make-overlay (point) (point) nil nil nil))
    (llmux-request-frames
     frame
     (lambda (message)
       (when (buffer-live-p buffer)
         (with-current-buffer buffer
           ;; Frames of a request this buffer no longer waits for are dropped.
           (when (equal llmux-complete--id id)
             (let ((type (alist-get 'type message)))
               (cond
                ((equal type "delta")
                 (let ((text (alist-get 'text message)))
                   (when (stringp text)
                     (setq llmux-complete--text (concat llmux-complete--text text))
                     (llmux-complete--render))))
                ((member type '("done" "error"))
                 (setq llmux-complete--running nil)))))))))
    id))

(defun llmux-complete-accept ()
  "Insert the ghost text at point; nil when there is none."
  (interactive)
  (when (and (overlayp llmux-complete--overlay) (> (length llmux-complete--text) 0))
    (let ((text llmux-complete--text)
          (position (overlay-start llmux-complete--overlay)))
      (llmux-complete-dismiss)
      (goto-char position)
      (insert text)
      t)))

(defun llmux-complete-accept-or-indent ()
  "Accept the ghost text, or indent as TAB would."
  (interactive)
  (unless (llmux-complete-accept)
    (indent-for-tab-command)))

(defun llmux-complete--after-command ()
  "After an insertion or deletion ask again; after any other command dismiss."
  (cond
   ((memq this-command '(self-insert-command delete-backward-char backward-delete-char-untabify newline))
    (llmux-complete-trigger))
   ((memq this-command '(llmux-complete-accept llmux-complete-accept-or-indent llmux-complete-trigger)))
   (t (llmux-complete-dismiss))))

(defvar llmux-complete-mode-map
  (let ((map (make-sparse-keymap)))
    (define-key map (kbd "TAB") #'llmux-complete-accept-or-indent)
    map)
  "Keys of `llmux-complete-mode'.")

;;;###autoload
(define-minor-mode llmux-complete-mode
  "Inline completion from llmuxd as ghost text."
  :lighter " llmux"
  :keymap llmux-complete-mode-map
  (if llmux-complete-mode
      (add-hook 'post-command-hook #'llmux-complete--after-command nil t)
    (remove-hook 'post-command-hook #'llmux-complete--after-command t)
    (llmux-complete-dismiss)))

(provide 'llmux-complete)
;;; llmux-complete.el ends here
