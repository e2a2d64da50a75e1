"""Model proposals for the mask editor (ADR 0021): a model's class map offered as a layer the
user accepts (all, one class, inside a box or a stroke) as one undo step, and proposals for a whole
dataset written to a proposals folder to review image by image."""
